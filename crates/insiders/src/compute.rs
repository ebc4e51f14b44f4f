//! `--compute local|datafusion|ballista://HOST:PORT`: where the cleaning and the customer
//! features are computed (docs/distributed.md). The plan (`insiders-distributed`) is built
//! only with the `distributed` feature; without it, anything but `local` is an error.

use crate::DataArgs;
use crate::progress::Progress;
use anyhow::Result;
use insiders_pipeline::{Config, Prepared};
use std::path::Path;

/// A place other than `local` (uninhabited without the `distributed` feature).
#[cfg(feature = "distributed")]
pub(crate) type Plan = insiders_distributed::Compute;
#[cfg(not(feature = "distributed"))]
#[derive(Debug)]
pub(crate) enum Plan {}

/// The plan's place, or `None` for the local path.
#[cfg(feature = "distributed")]
pub(crate) fn plan(args: &DataArgs) -> Result<Option<Plan>> {
    let c: Plan = args.compute.parse()?;
    Ok((!c.is_local()).then_some(c))
}

/// The plan's place, or `None` for the local path.
#[cfg(not(feature = "distributed"))]
pub(crate) fn plan(args: &DataArgs) -> Result<Option<Plan>> {
    match args.compute.as_str() {
        "local" => Ok(None),
        other => anyhow::bail!(
            "--compute {other}: this binary was built without the `distributed` feature (cargo build --release -p insiders --features distributed); only `local` is available"
        ),
    }
}

/// Commands that read the lines in this process only.
pub(crate) fn local_only(args: &DataArgs, command: &str) -> Result<()> {
    if args.compute != "local" {
        anyhow::bail!(
            "--compute {}: `insiders {command}` reads the lines in this process (only `features` and `run` take another --compute)",
            args.compute
        );
    }
    Ok(())
}

/// `insiders features --compute X`: the plan computes the customer table and the row
/// accounting; the lines are not read in this process.
#[cfg(not(feature = "distributed"))]
pub(crate) fn features(_: &DataArgs, _: &Path, _: &Config, c: Plan) -> Result<()> {
    match c {}
}

/// `insiders run --compute X`: the table and accounting of `p` are replaced by the plan's.
#[cfg(not(feature = "distributed"))]
pub(crate) fn replace(
    _: &mut Prepared,
    _: &DataArgs,
    _: &Config,
    c: Plan,
    _: &Progress,
) -> Result<()> {
    match c {}
}

#[cfg(feature = "distributed")]
pub(crate) use with_plan::{features, replace};

#[cfg(feature = "distributed")]
mod with_plan {
    use super::*;
    use anyhow::{Context, bail};
    use insiders_distributed::{Limits, PlanOutput};
    use insiders_ingest::write_atomic;
    use insiders_pipeline::model_matrix;
    use std::time::Duration;

    /// The input files of the plan: every `--data` (files, or globs the plan expands).
    fn inputs(args: &DataArgs, c: &Plan) -> Result<Vec<String>> {
        if args.data.is_empty() {
            bail!(
                "--compute {c} needs --data: files (or a glob) that this process and every executor can read"
            );
        }
        Ok(args.data.iter().map(|p| p.display().to_string()).collect())
    }

    fn limits(args: &DataArgs) -> Limits {
        Limits {
            memory: args.compute_memory << 20,
            timeout: Duration::from_secs(args.compute_timeout),
            ..Limits::default()
        }
    }

    fn run_plan(
        args: &DataArgs,
        cfg: &Config,
        c: &Plan,
        progress: &Progress,
    ) -> Result<PlanOutput> {
        progress.stage(&format!("cleaning and customer features on {c}"));
        let out = insiders_distributed::compute(
            &inputs(args, c)?,
            &cfg.input,
            &cfg.cleaning,
            c,
            &limits(args),
        )
        .with_context(|| format!("--compute {c}"))?;
        // What `features.selected` needs: every feature is there (the plan needs the
        // published columns), so nothing to check beyond the names.
        Ok(out)
    }

    pub(crate) fn features(args: &DataArgs, out: &Path, cfg: &Config, c: Plan) -> Result<()> {
        let progress = Progress::start();
        let p = run_plan(args, cfg, &c, &progress)?;
        progress.stage("scaling");
        let m = model_matrix(&p.table, cfg)?;
        // Everything is computed before anything is written: an error writes nothing.
        let scaled_csv = insiders_ingest::matrix::matrix_csv("customer_id", &m.ids, &m.names, &m.x);
        let accounting = serde_json::json!({
            "read": p.report,
            "accounting": p.account,
            "compute": c.to_string(),
        });
        progress.stage("writing");
        write_atomic(&out.join("customers.csv"), &p.table.to_csv())?;
        write_atomic(&out.join("scaled.csv"), &scaled_csv)?;
        write_atomic(
            &out.join("scaler.json"),
            serde_json::to_string_pretty(&m.scaler)?.as_bytes(),
        )?;
        write_atomic(
            &out.join("row_accounting.json"),
            serde_json::to_string_pretty(&accounting)?.as_bytes(),
        )?;
        progress.finish("features");
        println!(
            "source: {} ({}), computed on {c}",
            p.report.path, p.report.source
        );
        print!("{}", p.account.to_text());
        if !p.report.rejected.is_empty() {
            println!(
                "rejects.csv is not written by --compute {c}: the plan counts malformed rows by reason, without their line numbers (docs/distributed.md)"
            );
        }
        println!(
            "wrote {} customers x {} features to {}",
            p.table.len(),
            p.table.columns.len(),
            out.display()
        );
        Ok(())
    }

    /// The first difference between two customer tables (ids exact, values within 1e-9
    /// relative, NaN where NaN), if any.
    pub(crate) fn table_difference(
        a: &insiders_features::CustomerTable,
        b: &insiders_features::CustomerTable,
    ) -> Option<String> {
        if a.customer_id != b.customer_id {
            return Some(format!(
                "{} customers against {} (or other ids)",
                a.len(),
                b.len()
            ));
        }
        if a.columns != b.columns {
            return Some(format!("columns {:?} against {:?}", a.columns, b.columns));
        }
        for (j, (ca, cb)) in a.values.iter().zip(&b.values).enumerate() {
            for (i, (x, y)) in ca.iter().zip(cb).enumerate() {
                let same = (x.is_nan() && y.is_nan())
                    || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
                    || x == y;
                if !same {
                    return Some(format!(
                        "customer {}: {} {x} against {y}",
                        a.customer_id[i], a.columns[j]
                    ));
                }
            }
        }
        None
    }

    pub(crate) fn replace(
        p: &mut Prepared,
        args: &DataArgs,
        cfg: &Config,
        c: Plan,
        progress: &Progress,
    ) -> Result<()> {
        let out = run_plan(args, cfg, &c, progress)?;
        // The analysis reads the lines, so they were read here too; the plan's results must
        // be the local path's (a difference is an error, not a silent choice).
        if let Some(d) = table_difference(&out.table, &p.table) {
            bail!("--compute {c}: the plan's customer table differs from the local path's: {d}");
        }
        let mut local = p.cleaned.account.clone();
        local.source = out.account.source.clone();
        if local != out.account || out.last_day != p.cleaned.last_day {
            bail!(
                "--compute {c}: the plan's row accounting differs from the local path's:\nplan:\n{}local:\n{}",
                out.account.to_text(),
                p.cleaned.account.to_text()
            );
        }
        eprintln!(
            "--compute {c}: the customer table ({} customers) and the row accounting come from the plan; the invoice lines are still read in this process, because the analysis reads them (the Q5 backtest's cut-off and its calibration table, the day purchases and catalogue shares, the data fingerprint): see docs/distributed.md",
            out.table.len()
        );
        p.table = out.table;
        p.cleaned.account = out.account;
        Ok(())
    }
}
