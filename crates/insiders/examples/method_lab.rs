//! Method lab: per-archetype feature summaries of synthetic shops and the recovery (precision,
//! recall, F1 against the planted high-value customers) of candidate selection rules.
//! `cargo run --release -p insiders --example method_lab -- [customers:seed ...]`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use insiders_pipeline::{Config, Source};
use std::collections::BTreeMap;

/// The forward check on the real data: Insiders chosen with data before 2011-09-09, judged
/// on the revenue after it, beside the naive ranking (top N by past revenue).
fn real() {
    let data = insiders_fixtures::data_path();
    let mut cfg = Config::default();
    let full = insiders_pipeline::prepare(&Source::File(data.clone()), &cfg, &|_| {}).unwrap();
    cfg.cleaning.as_of = Some("2011-09-09".into());
    let cal = insiders_pipeline::prepare(&Source::File(data), &cfg, &|_| {}).unwrap();
    let anon_limit = 19000;
    let t = &cal.table;
    let rows: Vec<usize> = (0..t.len())
        .filter(|&i| t.customer_id[i] < anon_limit)
        .collect();
    let rev: Vec<f64> = rows
        .iter()
        .map(|&i| t.column("gross_revenue").unwrap()[i])
        .collect();
    let full_rev: BTreeMap<u32, f64> = full
        .table
        .customer_id
        .iter()
        .zip(full.table.column("gross_revenue").unwrap())
        .filter(|(id, _)| **id < anon_limit)
        .map(|(a, b)| (*a, *b))
        .collect();
    let cal_rev: BTreeMap<u32, f64> = rows
        .iter()
        .map(|&i| (t.customer_id[i], t.column("gross_revenue").unwrap()[i]))
        .collect();
    let hold: BTreeMap<u32, f64> = full_rev
        .iter()
        .map(|(id, r)| (*id, r - cal_rev.get(id).copied().unwrap_or(0.0)))
        .collect();
    let total: f64 = hold.values().sum();
    let which: usize = std::env::var("SP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for sp in &SPACES[which..which + 1] {
        let x = space_matrix(t, &rows, sp);
        let prob = consensus_probability(&x, &rev, 100);
        let value: Vec<f64> = rev.iter().map(|r| r.max(0.0).ln_1p()).collect();
        let (cut, _) = insiders_analysis::consensus::value_break(&value, &prob, 0.5).unwrap();
        let ours: Vec<u32> = rows
            .iter()
            .zip(&value)
            .filter(|(_, v)| **v >= cut)
            .map(|(&i, _)| t.customer_id[i])
            .collect();
        let n = ours.len();
        let mut by_past: Vec<(u32, f64)> = cal_rev.iter().map(|(a, b)| (*a, *b)).collect();
        by_past.sort_by(|a, b| b.1.total_cmp(&a.1));
        let naive: Vec<u32> = by_past[..n].iter().map(|a| a.0).collect();
        let mut by_hold: Vec<(u32, f64)> = hold.iter().map(|(a, b)| (*a, *b)).collect();
        by_hold.sort_by(|a, b| b.1.total_cmp(&a.1));
        let top: std::collections::BTreeSet<u32> = by_hold[..n].iter().map(|a| a.0).collect();
        let judge = |set: &[u32]| {
            let share = set
                .iter()
                .map(|id| hold.get(id).copied().unwrap_or(0.0))
                .sum::<f64>()
                / total;
            let prec = set.iter().filter(|id| top.contains(id)).count() as f64 / n as f64;
            (share, prec)
        };
        println!("{sp:?}: {} identified at the cut-off; N = {n}", rows.len());
        println!(
            "ours  share {:.3} precision@N {:.3}",
            judge(&ours).0,
            judge(&ours).1
        );
        println!(
            "naive share {:.3} precision@N {:.3}",
            judge(&naive).0,
            judge(&naive).1
        );
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("real") {
        real();
        return;
    }
    let shops: Vec<(usize, u64)> = {
        let a: Vec<String> = std::env::args().skip(1).collect();
        if a.is_empty() {
            vec![(2000, 42), (10000, 1), (40000, 1)]
        } else {
            a.iter()
                .map(|s| {
                    let mut it = s.split(':');
                    let c: usize = it.next().unwrap().parse().unwrap();
                    let sd: u64 = it.next().unwrap().parse().unwrap();
                    let share: f64 = it.next().map_or(0.0, |v| v.parse().unwrap());
                    (c, sd + ((share * 1000.0) as u64) * 1_000_000)
                })
                .collect()
        }
    };
    for (customers, seed) in shops {
        let share = (seed / 1_000_000) as f64 / 1000.0;
        let seed = seed % 1_000_000;
        let mut sc = insiders_synth::ShopConfig {
            customers,
            seed,
            ..Default::default()
        };
        if share > 0.0 {
            // loyal:bulk 4:1 to `share`, the rest scaled to fill.
            let base = sc.mix;
            let hv = base[0] + base[5];
            for (i, m) in sc.mix.iter_mut().enumerate() {
                *m = if i == 0 || i == 5 {
                    base[i] / hv * share
                } else {
                    base[i] / (1.0 - hv) * (1.0 - share)
                };
            }
        }
        let shop = insiders_synth::generate(&sc).unwrap();
        let truth: BTreeMap<u32, &str> = shop
            .truth
            .iter()
            .map(|t| (t.customer_id, t.archetype.name()))
            .collect();
        let dir = std::env::temp_dir().join(format!("lab-{customers}-{seed}.csv"));
        std::fs::write(&dir, &shop.csv).unwrap();
        let mut cfg = Config::default();
        cfg.cleaning.synthetic_id_start = Some(50_000_000);
        let p = insiders_pipeline::prepare(&Source::File(dir.clone()), &cfg, &|_| {}).unwrap();
        let t = &p.table;
        let arche: Vec<&str> = t
            .customer_id
            .iter()
            .map(|id| truth.get(id).copied().unwrap_or("anonymous"))
            .collect();
        println!(
            "== shop {customers} seed {seed}: {} customers in the table",
            t.len()
        );
        let cols = [
            "gross_revenue",
            "qtde_invoices",
            "qtde_items",
            "recency_days",
            "frequency",
            "avg_ticket",
            "qtde_returns",
        ];
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, a) in arche.iter().enumerate() {
            groups.entry(a).or_default().push(i);
        }
        print!("{:>18} {:>6}", "archetype", "n");
        for c in cols {
            print!(" {:>14}", c);
        }
        println!();
        for (a, rows) in &groups {
            print!("{a:>18} {:>6}", rows.len());
            for c in cols {
                let v = t.column(c).unwrap();
                let mut x: Vec<f64> = rows.iter().map(|&i| v[i]).collect();
                x.sort_by(f64::total_cmp);
                let med = x[x.len() / 2];
                print!(" {:>14.2}", med);
            }
            println!();
        }
        std::fs::remove_file(&dir).ok();
        // Identified customers only (anonymous invoices are not eligible).
        let rows: Vec<usize> = (0..t.len()).filter(|&i| arche[i] != "anonymous").collect();
        let hv: Vec<bool> = rows
            .iter()
            .map(|&i| matches!(arche[i], "loyal_high_value" | "bulk_wholesale"))
            .collect();
        let n_hv = hv.iter().filter(|&&b| b).count();
        let rev: Vec<f64> = rows
            .iter()
            .map(|&i| t.column("gross_revenue").unwrap()[i])
            .collect();
        // Ceiling: top n_hv by revenue.
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&a, &b| rev[b].total_cmp(&rev[a]));
        let mut top = vec![false; rows.len()];
        for &o in &order[..n_hv] {
            top[o] = true;
        }
        report("top-N revenue (N known)", &top, &hv);
        let which: usize = std::env::var("SP")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let x = space_matrix(t, &rows, SPACES[which]);
        let mut best = (0, f64::NEG_INFINITY);
        for k in 2..=10 {
            let (ins, info, ch) = fit_select(&x, &rev, "kmeans", k, seed);
            if ch > best.1 {
                best = (k, ch);
            }
            if std::env::var("V").is_ok() {
                report(&format!("kmeans k={k} {info}"), &ins, &hv);
            }
        }
        println!("highest Calinski-Harabasz: k = {}", best.0);
        let t0 = std::time::Instant::now();
        let mut runs = Vec::new();
        for s in [1u64, 2, 3] {
            let prob = consensus_probability(&x, &rev, s);
            let value: Vec<f64> = rev.iter().map(|r| r.max(0.0).ln_1p()).collect();
            report(
                &format!("consensus top group seed {s}"),
                &prob.iter().map(|&p| p >= 0.5).collect::<Vec<_>>(),
                &hv,
            );
            let (cut, _) = insiders_analysis::consensus::value_break(&value, &prob, 0.5).unwrap();
            let ins: Vec<bool> = value.iter().map(|&v| v >= cut).collect();
            report(&format!("consensus value break seed {s}"), &ins, &hv);
            runs.push(ins);
        }
        let j = |a: &[bool], b: &[bool]| insiders_core::jaccard_masks(a, b).unwrap_or(1.0);
        println!(
            "consensus seed Jaccard {:.3} {:.3} {:.3} ({:.1} s)",
            j(&runs[0], &runs[1]),
            j(&runs[0], &runs[2]),
            j(&runs[1], &runs[2]),
            t0.elapsed().as_secs_f64()
        );
    }
}

/// The spaces tried (`SP=i` picks one; 0 is the `consensus` preset's).
const SPACES: [&[&str]; 5] = [
    &["gross_revenue", "qtde_invoices", "qtde_items"],
    &["gross_revenue"],
    &[
        "gross_revenue",
        "qtde_invoices",
        "qtde_items",
        "recency_days",
    ],
    &["gross_revenue", "qtde_invoices", "recency_days"],
    &[
        "gross_revenue",
        "qtde_invoices",
        "qtde_items",
        "recency_days",
        "qtde_products",
    ],
];

fn weight() -> f64 {
    std::env::var("W")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0)
}

/// Z-scored ln(1 + x) of the named columns (recency: ln(1 + days) too).
fn space_matrix(
    t: &insiders_features::CustomerTable,
    rows: &[usize],
    cols: &[&str],
) -> insiders_core::Matrix {
    let mut x = insiders_core::Matrix::zeros((rows.len(), cols.len()));
    for (j, c) in cols.iter().enumerate() {
        let v = t.column(c).unwrap();
        let col: Vec<f64> = rows.iter().map(|&i| v[i].max(0.0).ln_1p()).collect();
        let m = col.iter().sum::<f64>() / col.len() as f64;
        let sd = (col.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / col.len() as f64).sqrt();
        let w = if j == 0 { weight() } else { 1.0 };
        for (i, a) in col.iter().enumerate() {
            x[[i, j]] = w * (a - m) / sd.max(1e-12);
        }
    }
    x
}

/// Fits `engine` with k clusters; the Insiders are the clusters above the largest gap in mean
/// ln revenue (clusters ranked by it).
fn fit_select(
    x: &insiders_core::Matrix,
    rev: &[f64],
    engine: &str,
    k: usize,
    seed: u64,
) -> (Vec<bool>, String, f64) {
    let e = insiders_engines::build(engine, &toml::Table::new()).unwrap();
    let p = e.fit(x.view(), Some(k), seed).unwrap();
    let ins = gap_insiders(&p.labels, rev, k);
    let sil = insiders_eval::silhouette_sampled(x.view(), &p.labels, 4000, 7)
        .map(|s| s.value)
        .unwrap_or(f64::NAN);
    let ch = insiders_eval::calinski_harabasz(x.view(), &p.labels).unwrap_or(f64::NAN);
    let db = insiders_eval::davies_bouldin(x.view(), &p.labels).unwrap_or(f64::NAN);
    let bl: Vec<Option<u32>> = ins.iter().map(|&b| Some(u32::from(b))).collect();
    let bsil = insiders_eval::silhouette_sampled(x.view(), &bl, 4000, 7)
        .map(|s| s.value)
        .unwrap_or(f64::NAN);
    let bch = insiders_eval::calinski_harabasz(x.view(), &bl).unwrap_or(f64::NAN);
    let lr: Vec<f64> = rev.iter().map(|r| r.max(0.0).ln_1p()).collect();
    let stat = |f: bool| {
        let v: Vec<f64> = lr
            .iter()
            .zip(&ins)
            .filter(|(_, b)| **b == f)
            .map(|(a, _)| *a)
            .collect();
        let m = v.iter().sum::<f64>() / v.len().max(1) as f64;
        let var = v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / v.len().max(1) as f64;
        (m, var)
    };
    let (m1, v1) = stat(true);
    let (m0, v0) = stat(false);
    let fisher = (m1 - m0).powi(2) / (v1 + v0);
    let info = format!(
        "sil {sil:.3} ch {ch:.0} db {db:.3} | bin sil {bsil:.3} ch {bch:.0} fisher {fisher:.2}"
    );
    (ins, info, ch)
}

/// The library's consensus ([`insiders_analysis::consensus`], the `consensus` preset's
/// defaults: k = 2..10, 5 subsamples of 80% each, 2 restarts, no swaps): each row's Insider
/// probability.
fn consensus_probability(x: &insiders_core::Matrix, rev: &[f64], seed: u64) -> Vec<f64> {
    let value: Vec<f64> = rev.iter().map(|r| r.max(0.0).ln_1p()).collect();
    let opts = insiders_analysis::consensus::ConsensusOptions {
        enabled: true,
        max_share: std::env::var("MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.5),
        ..Default::default()
    };
    insiders_analysis::consensus::consensus(x, &value, "kmeans", &toml::Table::new(), &opts, seed)
        .unwrap()
        .probability
}

/// The library's value rule on one fit: the clusters above the largest gap in mean
/// ln(1 + revenue).
fn gap_insiders(labels: &[Option<u32>], rev: &[f64], k: usize) -> Vec<bool> {
    let value: Vec<f64> = rev.iter().map(|r| r.max(0.0).ln_1p()).collect();
    let top = insiders_analysis::consensus::top_group(labels, &value, k, 0.5);
    labels
        .iter()
        .map(|l| l.is_some_and(|l| top[l as usize]))
        .collect()
}

fn report(name: &str, ins: &[bool], hv: &[bool]) {
    let tp = ins.iter().zip(hv).filter(|(a, b)| **a && **b).count() as f64;
    let n_ins = ins.iter().filter(|&&a| a).count() as f64;
    let n_hv = hv.iter().filter(|&&b| b).count() as f64;
    let p = tp / n_ins.max(1.0);
    let r = tp / n_hv.max(1.0);
    let f1 = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    println!("{name:<80} n {n_ins:>6} P {p:.3} R {r:.3} F1 {f1:.3}");
}
