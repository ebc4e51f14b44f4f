//! The report of a grid over matrix data sets with reference labels (the batteries): per
//! battery and engine (ours and the published peers, scored the same way), the mean and the
//! distribution of the external scores at the true k, engines ranked by ARI with the
//! silhouette beside it, ours against each published peer case by case (wins, losses, the
//! cases that differ by more than 0.05), pairwise wins between engines, and the data sets
//! where the silhouette would have chosen another engine than the reference labels do.
//!
//! A data set's score is the suite's: the best over its reference labellings, each compared
//! at its own k (the maximum over the engine's cells at a true k). A case is a (data set,
//! true k) pair.

use super::*;

/// Our engines and the published method variant each is compared with.
pub const PEERS: [(&str, &str); 4] = [
    ("kmeans", "sklearn_kmeans"),
    ("gmm", "sklearn_gm"),
    ("ward", "fastcluster_ward"),
    ("genie", "Genie_G0.3"),
];

/// Per-case differences above this are listed.
const LISTED: f64 = 0.05;
/// Differences up to this count as ties in wins and losses.
const TIE: f64 = 0.005;

/// Whether a run is a grid over matrix data sets.
pub(super) fn is_dataset_run(cells: &[Cell]) -> bool {
    cells.iter().any(|c| !c.dataset.is_empty())
}

/// The label of a cell's engine: the published variant, or our engine (with its parameters
/// when the run has several parameter points of it).
fn label(c: &Cell, multi: &BTreeSet<String>) -> String {
    if c.origin != crate::datasets::PUBLISHED && multi.contains(&c.engine) && !c.params.is_empty() {
        format!("{}[{}]", c.engine, c.params)
    } else {
        c.engine.clone()
    }
}

/// The battery of a data set id (`clustbench/<battery>/<name>`), else the id's first part.
fn battery(id: &str) -> String {
    let parts: Vec<&str> = id.split('/').collect();
    match parts.as_slice() {
        [_, b, _] => (*b).to_string(),
        [first, ..] => (*first).to_string(),
        [] => String::new(),
    }
}

/// Scores of one engine on one data set: the best over its true-k cells (and the silhouette
/// of the cell with the best ARI).
#[derive(Debug, Clone, Copy, Default)]
struct DsScore {
    ari: f64,
    nca: f64,
    silhouette: Option<f64>,
}

/// Everything the sections read: per engine label, per data set, the data set score; per
/// engine label, per case, the ARI.
struct Tables {
    engines: Vec<String>,
    datasets: Vec<String>,
    by_ds: BTreeMap<(String, String), DsScore>,
    by_case: BTreeMap<(String, String, usize), f64>,
}

fn tables(cells: &[Cell]) -> Tables {
    let mut params: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for c in cells
        .iter()
        .filter(|c| c.origin != crate::datasets::PUBLISHED)
    {
        params.entry(&c.engine).or_default().insert(&c.params);
    }
    let multi: BTreeSet<String> = params
        .iter()
        .filter(|(_, p)| p.len() > 1)
        .map(|(e, _)| e.to_string())
        .collect();
    let mut engines: Vec<String> = Vec::new();
    let mut datasets: Vec<String> = Vec::new();
    let mut by_ds: BTreeMap<(String, String), DsScore> = BTreeMap::new();
    let mut by_case = BTreeMap::new();
    for c in cells {
        let (Some(true), Some(ari), Some(k)) = (c.true_k, c.ari, c.k) else {
            continue;
        };
        let e = label(c, &multi);
        if !engines.contains(&e) {
            engines.push(e.clone());
        }
        if !datasets.contains(&c.dataset) {
            datasets.push(c.dataset.clone());
        }
        by_case.insert((e.clone(), c.dataset.clone(), k), ari);
        let s = by_ds.entry((e, c.dataset.clone())).or_insert(DsScore {
            ari: f64::NEG_INFINITY,
            nca: f64::NEG_INFINITY,
            silhouette: None,
        });
        if ari > s.ari {
            s.ari = ari;
            s.silhouette = c.silhouette;
        }
        s.nca = s.nca.max(c.nca.unwrap_or(f64::NEG_INFINITY));
    }
    // Ours first (run order), then the published variants sorted.
    let published: BTreeSet<&str> = cells
        .iter()
        .filter(|c| c.origin == crate::datasets::PUBLISHED)
        .map(|c| c.engine.as_str())
        .collect();
    let (mut ours, mut theirs): (Vec<String>, Vec<String>) = engines
        .into_iter()
        .partition(|e| !published.contains(e.as_str()));
    theirs.sort();
    ours.extend(theirs);
    Tables {
        engines: ours,
        datasets,
        by_ds,
        by_case,
    }
}

/// One engine's data set scores on a battery: (engine, ARIs, NCAs, silhouettes).
type EngineRow = (String, Vec<f64>, Vec<f64>, Vec<f64>);

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Quantile of sorted values (numpy's linear rule, the workspace's one quantile).
fn q(sorted: &[f64], p: f64) -> Option<f64> {
    (!sorted.is_empty()).then(|| insiders_core::quantile_sorted(sorted, p))
}

/// The battery sections of the report.
pub(super) fn batteries(doc: &mut Document, cx: &Ctx<'_>) {
    let cells = &cx.run.cells;
    let t = tables(cells);
    let mut bats: Vec<String> = t.datasets.iter().map(|d| battery(d)).collect();
    bats.dedup();
    let mut all = bats.clone();
    all.push("all".into());
    // "all" pools the benchmark data sets; a customer data set (a synthetic shop with its
    // archetypes) keeps its own table.
    let shops = super::customers::customer_datasets(cells);
    let in_bat = |d: &str, b: &str| (b == "all" && !shops.contains(d)) || battery(d) == b;

    doc.heading(2, "External scores at the true k");
    doc.paragraph(
        "A data set's score is the benchmark suite's: the best over its reference labellings, \
         each compared with the labels at its own k, the reference's noise points left out. \
         Published labels of other implementations are scored exactly like ours. Engines are \
         ranked by mean ARI; the silhouette (of the same labels, on the same points) is beside it.",
    );
    for b in &all {
        let mut rows: Vec<EngineRow> = Vec::new();
        for e in &t.engines {
            let mut aris = Vec::new();
            let mut ncas = Vec::new();
            let mut sils = Vec::new();
            for d in t.datasets.iter().filter(|d| in_bat(d, b)) {
                if let Some(s) = t.by_ds.get(&(e.clone(), d.clone())) {
                    aris.push(s.ari);
                    if s.nca.is_finite() {
                        ncas.push(s.nca);
                    }
                    if let Some(x) = s.silhouette {
                        sils.push(x);
                    }
                }
            }
            if !aris.is_empty() {
                rows.push((e.clone(), aris, ncas, sils));
            }
        }
        rows.sort_by(|a, b| {
            mean(&b.1)
                .partial_cmp(&mean(&a.1))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut sil_rank: Vec<(usize, f64)> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (i, mean(&r.3).unwrap_or(f64::NEG_INFINITY)))
            .collect();
        sil_rank.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut sil_pos = vec![0; rows.len()];
        for (pos, (i, _)) in sil_rank.iter().enumerate() {
            sil_pos[*i] = pos + 1;
        }
        doc.heading(3, format!("Battery {b}"));
        let mut tab = Table::new([
            "rank",
            "engine",
            "data sets",
            "mean ARI",
            "ARI min / q1 / median / q3 / max",
            "mean NCA",
            "mean silhouette",
            "silhouette rank",
        ])
        .numeric(vec![true, false, true, true, false, true, true, true]);
        for (i, (e, aris, ncas, sils)) in rows.iter().enumerate() {
            let mut s = aris.clone();
            s.sort_by(f64::total_cmp);
            let dist = [0.0, 0.25, 0.5, 0.75, 1.0]
                .iter()
                .map(|&p| f3(q(&s, p)))
                .collect::<Vec<_>>()
                .join(" / ");
            tab.row([
                (i + 1).to_string(),
                e.clone(),
                aris.len().to_string(),
                f3(mean(aris)),
                dist,
                f3(mean(ncas)),
                f3(mean(sils)),
                sil_pos[i].to_string(),
            ]);
        }
        doc.table(tab);
    }
    peers(doc, &t, &all);
    wins(doc, &t);
    disagreements(doc, &t);
}

/// Ours against each published peer: means, wins and losses by case, the large differences.
fn peers(doc: &mut Document, t: &Tables, bats: &[String]) {
    doc.heading(2, "Ours against the published implementations");
    doc.paragraph(format!(
        "Mean ARI over data sets (the suite's score) and case by case (data set, true k): \
         wins and losses count differences above {TIE}; cases differing by more than {LISTED} \
         are listed."
    ));
    let mut tab = Table::new([
        "battery",
        "ours",
        "published",
        "data sets",
        "mean ARI ours",
        "mean ARI published",
        "difference",
        "cases",
        "wins / ties / losses",
    ])
    .numeric(vec![
        false, false, false, true, true, true, true, true, false,
    ]);
    let mut listed = Table::new([
        "ours",
        "data set",
        "k",
        "ARI ours",
        "ARI published",
        "difference",
    ])
    .numeric(vec![false, false, true, true, true, true]);
    for b in bats {
        for (o, p) in PEERS {
            let ds: Vec<&String> = t
                .datasets
                .iter()
                .filter(|d| b == "all" || battery(d) == *b)
                .filter(|d| {
                    t.by_ds.contains_key(&(o.to_string(), (*d).clone()))
                        && t.by_ds.contains_key(&(p.to_string(), (*d).clone()))
                })
                .collect();
            if ds.is_empty() {
                continue;
            }
            let get = |e: &str, d: &String| t.by_ds[&(e.to_string(), d.clone())].ari;
            let a: Vec<f64> = ds.iter().map(|d| get(o, d)).collect();
            let c: Vec<f64> = ds.iter().map(|d| get(p, d)).collect();
            let (mut w, mut ti, mut l, mut n) = (0, 0, 0, 0);
            for ((e, d, k), x) in t
                .by_case
                .iter()
                .filter(|((e, d, _), _)| e == o && (b == "all" || battery(d) == *b))
            {
                let Some(y) = t.by_case.get(&(p.to_string(), d.clone(), *k)) else {
                    continue;
                };
                n += 1;
                let diff = x - y;
                if diff > TIE {
                    w += 1;
                } else if diff < -TIE {
                    l += 1;
                } else {
                    ti += 1;
                }
                if b == "all" && diff.abs() > LISTED {
                    listed.row([
                        e.clone(),
                        d.clone(),
                        k.to_string(),
                        f3(Some(*x)),
                        f3(Some(*y)),
                        signed(diff, 3),
                    ]);
                }
            }
            let (ma, mc) = (mean(&a).unwrap_or(0.0), mean(&c).unwrap_or(0.0));
            tab.row([
                b.clone(),
                o.to_string(),
                p.to_string(),
                ds.len().to_string(),
                f3(Some(ma)),
                f3(Some(mc)),
                signed(ma - mc, 3),
                n.to_string(),
                format!("{w} / {ti} / {l}"),
            ]);
        }
    }
    doc.table(tab);
    if listed.rows.is_empty() {
        doc.paragraph(format!("No case differs by more than {LISTED}."));
    } else {
        doc.heading(3, format!("Cases differing by more than {LISTED}"));
        doc.table(listed);
    }
}

/// Pairwise wins between engines over the cases both have.
fn wins(doc: &mut Document, t: &Tables) {
    doc.heading(2, "Wins and losses by case");
    doc.paragraph(format!(
        "Row engine against column engine: cases (data set, true k) where the row's ARI is \
         higher / lower by more than {TIE}."
    ));
    let mut header = vec!["engine".to_string()];
    header.extend(t.engines.iter().cloned());
    let mut tab = Table::new(header);
    for a in &t.engines {
        let mut row = vec![a.clone()];
        for b in &t.engines {
            if a == b {
                row.push("–".into());
                continue;
            }
            let (mut w, mut l) = (0, 0);
            for ((e, d, k), x) in t.by_case.iter().filter(|((e, _, _), _)| e == a) {
                let _ = e;
                if let Some(y) = t.by_case.get(&(b.clone(), d.clone(), *k)) {
                    if x - y > TIE {
                        w += 1;
                    } else if y - x > TIE {
                        l += 1;
                    }
                }
            }
            row.push(format!("{w}–{l}"));
        }
        tab.row(row);
    }
    doc.table(tab);
}

/// Data sets where the engine with the best silhouette is not the one with the best ARI.
fn disagreements(doc: &mut Document, t: &Tables) {
    doc.heading(2, "Where the silhouette and the reference labels disagree");
    let mut tab = Table::new([
        "data set",
        "best by ARI",
        "its ARI",
        "best by silhouette",
        "its ARI",
        "ARI lost",
    ])
    .numeric(vec![false, false, true, false, true, true]);
    let mut agree = 0;
    let mut lost = Vec::new();
    for d in &t.datasets {
        let scores: Vec<(&String, DsScore)> = t
            .engines
            .iter()
            .filter_map(|e| t.by_ds.get(&(e.clone(), d.clone())).map(|s| (e, *s)))
            .collect();
        let by_ari = scores
            .iter()
            .fold(None::<&(&String, DsScore)>, |acc, s| match acc {
                Some(b) if b.1.ari >= s.1.ari => Some(b),
                _ => Some(s),
            });
        let by_sil = scores.iter().filter(|s| s.1.silhouette.is_some()).fold(
            None::<&(&String, DsScore)>,
            |acc, s| match acc {
                Some(b) if b.1.silhouette >= s.1.silhouette => Some(b),
                _ => Some(s),
            },
        );
        let (Some(a), Some(s)) = (by_ari, by_sil) else {
            continue;
        };
        if a.1.ari - s.1.ari <= TIE {
            agree += 1;
            continue;
        }
        lost.push(a.1.ari - s.1.ari);
        tab.row([
            d.clone(),
            a.0.clone(),
            f3(Some(a.1.ari)),
            s.0.clone(),
            f3(Some(s.1.ari)),
            f3(Some(a.1.ari - s.1.ari)),
        ]);
    }
    doc.paragraph(format!(
        "Choosing, per data set, the engine with the highest silhouette instead of the highest \
         ARI: the same ARI (within {TIE}) on {agree} of {} data sets; on the {} others the mean \
         ARI lost is {}.",
        agree + lost.len(),
        lost.len(),
        f3(mean(&lost))
    ));
    if !lost.is_empty() {
        doc.table(tab);
    }
}
