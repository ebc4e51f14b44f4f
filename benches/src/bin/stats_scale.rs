//! `stats-scale`: the statistics of `insiders run` on a large synthetic customer base,
//! generated in memory from a seed: BG/NBD and Gamma-Gamma fits on the customers' purchase
//! summaries, Mann-Whitney U, the percentile bootstrap (mean and median differences) and
//! the rules tree (depth 3 on 10 features), Insiders against the rest (5% of the
//! customers). Prints each step's seconds and its seconds per million customers, at every
//! size asked for, so that growth with the base shows as a rising per-customer cost.
//!
//! ```text
//! cargo run --release -p insiders-benches --bin stats-scale -- [--customers 100000,1000000]
//!     [--resamples 2000] [--seed 42]
//! ```

use insiders_core::{Matrix, Rng};
use insiders_stats::clv::{BgNbd, CustomerSummary, GammaGamma};
use insiders_stats::hypothesis::{Statistic, bootstrap_diff_ci, mann_whitney_u};
use insiders_stats::tree::{DecisionTree, TreeConfig};
use std::time::Instant;

fn main() {
    if let Err(e) = run() {
        eprintln!("stats-scale: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut sizes = vec![100_000usize, 1_000_000];
    let mut resamples = 2000usize;
    let mut seed = 42u64;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args
            .get(i + 1)
            .ok_or(format!("{} needs a value", args[i]))?;
        match args[i].as_str() {
            "--customers" => {
                sizes = v
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .parse::<usize>()
                            .map_err(|e| format!("--customers: {e}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "--resamples" => resamples = v.parse().map_err(|e| format!("--resamples: {e}"))?,
            "--seed" => seed = v.parse().map_err(|e| format!("--seed: {e}"))?,
            other => return Err(format!("unknown argument `{other}`")),
        }
        i += 2;
    }
    println!("| customers | step | seconds | seconds per 1M customers |");
    println!("|---|---|---|---|");
    for &n in &sizes {
        let (summaries, x, insider) = base(n, seed);
        let step = |name: &str, f: &mut dyn FnMut() -> Result<(), String>| {
            let t = Instant::now();
            f()?;
            let s = t.elapsed().as_secs_f64();
            println!("| {n} | {name} | {s:.2} | {:.2} |", s * 1e6 / n as f64);
            Ok::<(), String>(())
        };
        step("BG/NBD fit", &mut || {
            let f = BgNbd::fit(&summaries).map_err(|e| e.to_string())?;
            eprintln!("{n}: BG/NBD {:?}, {} evaluations", f.model, f.evaluations);
            Ok(())
        })?;
        step("Gamma-Gamma fit", &mut || {
            let f = GammaGamma::fit(&summaries).map_err(|e| e.to_string())?;
            eprintln!(
                "{n}: Gamma-Gamma {:?}, {} evaluations",
                f.model, f.evaluations
            );
            Ok(())
        })?;
        let rev: Vec<f64> = x.column(0).to_vec();
        let ins: Vec<f64> = rev
            .iter()
            .zip(&insider)
            .filter(|p| *p.1)
            .map(|p| *p.0)
            .collect();
        let rest: Vec<f64> = rev
            .iter()
            .zip(&insider)
            .filter(|p| !*p.1)
            .map(|p| *p.0)
            .collect();
        step("Mann-Whitney U", &mut || {
            mann_whitney_u(&ins, &rest)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })?;
        for (name, s) in [
            ("bootstrap, mean difference", Statistic::Mean),
            ("bootstrap, median difference", Statistic::Median),
        ] {
            step(&format!("{name} ({resamples} resamples)"), &mut || {
                bootstrap_diff_ci(&ins, &rest, s, resamples, 0.95, seed)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })?;
        }
        let names: Vec<String> = (0..x.ncols()).map(|j| format!("f{j}")).collect();
        step("rules tree (depth 3, 10 features)", &mut || {
            let mut cfg = TreeConfig::new(3);
            cfg.min_samples_leaf = 20;
            DecisionTree::fit(x.view(), &names, &insider, &cfg)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })?;
    }
    Ok(())
}

/// `n` customers: purchase summaries from the BG/NBD process (Poisson purchase days at a
/// gamma-distributed rate, dropping out with a beta-distributed probability after each),
/// gamma-gamma spend, 10 log-normal features (the first is revenue) and the Insiders: the
/// top 5% by revenue.
fn base(n: usize, seed: u64) -> (Vec<CustomerSummary>, Matrix, Vec<bool>) {
    let mut rng = Rng::new(seed);
    let horizon = 365.0;
    let mut summaries = Vec::with_capacity(n);
    let mut x = Matrix::zeros((n, 10));
    for i in 0..n {
        let lambda = insiders_stats::special::gamma_draw(&mut rng, 0.8, 20.0);
        let p = insiders_stats::special::beta_draw(&mut rng, 0.8, 3.0);
        let age = 1.0 + (rng.uniform() * horizon).floor();
        let (mut t, mut x_rep, mut last) = (0.0, 0u32, 0.0);
        loop {
            t += -(1.0 - rng.uniform()).ln() / lambda.max(1e-6);
            if t >= age {
                break;
            }
            x_rep += 1;
            last = t.floor();
            if rng.uniform() < p {
                break;
            }
        }
        let nu = insiders_stats::special::gamma_draw(&mut rng, 3.0, 0.05);
        let monetary = if x_rep > 0 {
            (0..x_rep.min(50))
                .map(|_| insiders_stats::special::gamma_draw(&mut rng, 4.0, nu))
                .sum::<f64>()
                / f64::from(x_rep.min(50))
        } else {
            0.0
        };
        summaries.push(CustomerSummary {
            customer: i as u32,
            frequency: x_rep,
            recency: last,
            age,
            monetary,
            total_value: monetary * f64::from(x_rep + 1),
            first_day: 0,
        });
        let value = (monetary * f64::from(x_rep + 1)).max(1.0).ln();
        for j in 0..10 {
            x[[i, j]] = (value * (1.0 - 0.08 * j as f64) + rng.normal()).exp();
        }
    }
    let mut rev: Vec<f64> = x.column(0).to_vec();
    rev.sort_by(f64::total_cmp);
    let cut = rev[n - n / 20];
    let insider = x.column(0).iter().map(|&v| v >= cut).collect();
    (summaries, x, insider)
}
