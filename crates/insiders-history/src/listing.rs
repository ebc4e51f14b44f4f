//! The plain-text listing printed by `insiders history`.

use std::io::Write;

use crate::error::Result;
use crate::store::{Store, snapshot};

/// How many characters of the configuration hash the listing shows.
pub const SHORT_HASH: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// Writes `rows` under `headers` as aligned columns separated by two spaces, without
/// trailing spaces.
fn write_table(
    out: &mut dyn Write,
    headers: &[&str],
    align: &[Align],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header_row: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header_row).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            if align[i] == Align::Right {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Writes the history as plain aligned text, for `insiders history [--customer ID]`.
///
/// Without a customer: a title line, then one line per run in as-of order with its as-of
/// date, customers, Insiders, how many entered and left the Insiders since the previous run
/// (`-` for the first run), the first [`SHORT_HASH`] characters of the configuration hash,
/// and the model.
///
/// With a customer: a title line with how many runs they are in and when they entered and
/// left the Insiders, then one line per run with their cluster, Insider status (`-` when
/// absent from that run) and the change since the previous run (`entered`, `left`, or
/// `left (absent)` when an Insider is missing from the later run); entered and left mean
/// the same as in [`History::flows`]. An Insider in the very first run has no change on
/// that line; the title lists that date as `(first run)` among the entries. A customer in no run gets a single line saying so.
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) if writing fails; database errors of the queries.
pub fn write_listing(
    history: &mut dyn Store,
    customer: Option<i64>,
    out: &mut dyn Write,
) -> Result<()> {
    match customer {
        None => write_runs(history, out),
        Some(id) => write_customer(history, id, out),
    }
}

fn write_runs(history: &mut dyn Store, out: &mut dyn Write) -> Result<()> {
    let (runs, transitions) = snapshot(history, |h| Ok((h.all_runs()?, h.all_transitions()?)))?;
    let path = history.location();
    if runs.is_empty() {
        writeln!(out, "no runs recorded in {path}")?;
        return Ok(());
    }
    let plural = if runs.len() == 1 { "" } else { "s" };
    writeln!(out, "{} run{plural} in {path}", runs.len())?;
    let rows: Vec<Vec<String>> = runs
        .iter()
        .enumerate()
        .map(|(i, run)| {
            // transitions[i - 1] goes from runs[i - 1] to runs[i].
            let (entered, left) = match i.checked_sub(1).and_then(|j| transitions.get(j)) {
                Some(t) => (
                    t.flows.entered.len().to_string(),
                    t.flows.left.len().to_string(),
                ),
                None => ("-".to_owned(), "-".to_owned()),
            };
            vec![
                run.record.as_of.clone(),
                run.customers.to_string(),
                run.insiders.to_string(),
                entered,
                left,
                run.record.config_hash.chars().take(SHORT_HASH).collect(),
                run.record.model.clone(),
            ]
        })
        .collect();
    use Align::{Left, Right};
    write_table(
        out,
        &[
            "as-of",
            "customers",
            "insiders",
            "entered",
            "left",
            "config",
            "model",
        ],
        &[Left, Right, Right, Right, Right, Left, Left],
        &rows,
    )?;
    Ok(())
}

fn write_customer(history: &mut dyn Store, customer: i64, out: &mut dyn Write) -> Result<()> {
    let (runs, entries) = snapshot(history, |h| Ok((h.all_runs()?, h.customer_runs(customer)?)))?;
    if entries.is_empty() {
        writeln!(
            out,
            "customer {customer} is in none of the {} runs in {}",
            runs.len(),
            history.location()
        )?;
        return Ok(());
    }
    let mut rows = Vec::with_capacity(runs.len());
    let mut entered_on = Vec::new();
    let mut left_on = Vec::new();
    let mut previous: Option<bool> = None;
    let mut next_entry = entries.iter().peekable();
    for run in &runs {
        let entry = next_entry.next_if(|e| e.run == run.id);
        let insider = entry.is_some_and(|e| e.insider);
        let change = match previous {
            None if insider => {
                entered_on.push(format!("{} (first run)", run.record.as_of));
                ""
            }
            Some(false) if insider => {
                entered_on.push(run.record.as_of.clone());
                "entered"
            }
            Some(true) if !insider => {
                left_on.push(run.record.as_of.clone());
                if entry.is_some() {
                    "left"
                } else {
                    "left (absent)"
                }
            }
            _ => "",
        };
        previous = Some(insider);
        rows.push(match entry {
            Some(e) => vec![
                run.record.as_of.clone(),
                e.cluster.to_string(),
                if e.insider { "yes" } else { "no" }.to_owned(),
                change.to_owned(),
            ],
            None => vec![
                run.record.as_of.clone(),
                "-".to_owned(),
                "-".to_owned(),
                change.to_owned(),
            ],
        });
    }
    let insider_runs = entries.iter().filter(|e| e.insider).count();
    let list = |dates: &[String]| {
        if dates.is_empty() {
            "never".to_owned()
        } else {
            dates.join(", ")
        }
    };
    writeln!(
        out,
        "customer {customer}: in {} of {} runs, an Insider in {insider_runs}; entered: {}; left: {}",
        entries.len(),
        runs.len(),
        list(&entered_on),
        list(&left_on),
    )?;
    use Align::{Left, Right};
    write_table(
        out,
        &["as-of", "cluster", "insider", "change"],
        &[Left, Right, Right, Left],
        &rows,
    )?;
    Ok(())
}
