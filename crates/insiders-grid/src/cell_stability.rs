//! Stability as a score: how reproducible is the partition of a grid cell?
//!
//! For every (space, engine, parameter point, k) cell two numbers, both mean adjusted Rand
//! indices ([`insiders_eval::adjusted_rand_index`], noise counted as one more cluster):
//!
//! - **seed ARI** (`stability_seed_ari`): the mean pairwise ARI between `seeds` fits of the
//!   cell on the same points with different seeds: the cell's own fit (the cell seed) and
//!   `seeds - 1` more, seeded `cell_seed(master, "<cell id>#seed<i>")`. An engine whose
//!   [`insiders_core::Caps::deterministic`] is set (ward, dbscan, hdbscan, ...) ignores the
//!   seed, so its seed ARI is 1 by construction and no fit is spent on it.
//! - **bootstrap ARI** (`stability_boot_ari`): `bootstraps` resamples of the customers, each
//!   `n` draws with replacement, seeded `cell_seed(master, "<row>#boot<b>")` where `<row>` is
//!   the cell id without its `/k..` suffix (so the resamples are the same for every k of a
//!   row, and a hierarchical engine builds one tree per resample). The engine is fitted on the
//!   resample (duplicates included, as a bootstrap does) with the seed
//!   `derive_seed(resample seed, 1)`; the ARI is computed on the customers present in the
//!   resample, between the labels of the full fit and the labels of their first occurrence in
//!   the resample fit. The score is the mean over the resamples.
//!
//! A fit that fails is left out; a score with fewer than two labellings (seed) or no
//! comparison (bootstrap) is `None`. Everything is a pure function of (master seed, cell
//! id, data): resamples and seeds are derived from ids, parallel tasks are collected in
//! index order and averaged sequentially, so the scores do not depend on the thread count.

use crate::config::cell_seed;
use insiders_core::{Engine, MatrixView, Partition, Rng, derive_seed};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The `[stability]` table of `grid.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StabilityConfig {
    /// Compute the scores (`--stability` / `--no-stability` override it). Default false:
    /// the scores cost `seeds - 1 + bootstraps` more fits per cell.
    pub enabled: bool,
    /// Fits per cell with different seeds (the cell's own fit included); < 2 = no seed score.
    pub seeds: usize,
    /// Bootstrap resamples per cell; 0 = no bootstrap score.
    pub bootstraps: usize,
}

impl Default for StabilityConfig {
    fn default() -> Self {
        StabilityConfig {
            enabled: false,
            seeds: 5,
            bootstraps: 5,
        }
    }
}

/// The stability scores of one cell.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CellStability {
    /// Mean pairwise ARI between fits with different seeds.
    pub seed_ari: Option<f64>,
    /// Mean ARI between the full fit and fits on bootstrap resamples.
    pub boot_ari: Option<f64>,
}

/// The customers of a bootstrap resample: `n` indices drawn uniformly with replacement.
pub fn bootstrap_indices(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.below(n)).collect()
}

/// The ARI between `full` (labels of all points) and `boot` (labels of the resample
/// `idx`), on the points present in the resample, each at its first occurrence.
pub fn resample_ari(full: &[Option<u32>], idx: &[usize], boot: &[Option<u32>]) -> Option<f64> {
    if idx.len() != boot.len() {
        return None;
    }
    let mut first = vec![usize::MAX; full.len()];
    for (pos, &i) in idx.iter().enumerate() {
        if i < first.len() && first[i] == usize::MAX {
            first[i] = pos;
        }
    }
    let (a, b): (Vec<Option<u32>>, Vec<Option<u32>>) = first
        .iter()
        .enumerate()
        .filter(|&(_, &p)| p != usize::MAX)
        .map(|(i, &p)| (full[i], boot[p]))
        .unzip();
    insiders_eval::adjusted_rand_index(&a, &b).ok()
}

/// One row of the grid: the cells of one (space, engine, parameter point), one per k
/// (`ks == [None]` for engines without k).
#[derive(Debug)]
pub struct Row<'a> {
    /// The engine.
    pub engine: &'a dyn Engine,
    /// The space's coordinates.
    pub x: MatrixView<'a>,
    /// The cell id without the k suffix.
    pub row_id: &'a str,
    /// The cell ids, one per k.
    pub cell_ids: &'a [String],
    /// The ks (`None` when the engine needs none).
    pub ks: &'a [Option<usize>],
    /// The cells' own fits (`None` where the fit failed).
    pub fits: &'a [Option<&'a Partition>],
}

/// The stability scores of every cell of a row, in the order of `row.ks`.
pub fn row_stability(row: &Row<'_>, master: u64, cfg: &StabilityConfig) -> Vec<CellStability> {
    let m = row.ks.len();
    let mut out = vec![CellStability::default(); m];
    let deterministic = row.engine.caps().deterministic;
    // Seeds.
    if deterministic {
        for (o, f) in out.iter_mut().zip(row.fits) {
            if f.is_some() {
                o.seed_ari = Some(1.0);
            }
        }
    } else if cfg.seeds >= 2 {
        let extra = cfg.seeds - 1;
        let tasks: Vec<(usize, usize)> = (0..m)
            .filter(|&c| row.fits[c].is_some())
            .flat_map(|c| (1..=extra).map(move |i| (c, i)))
            .collect();
        let fitted: Vec<Option<Partition>> = tasks
            .par_iter()
            .map(|&(c, i)| {
                let seed = cell_seed(master, &format!("{}#seed{i}", row.cell_ids[c]));
                row.engine.fit(row.x, row.ks[c], seed).ok()
            })
            .collect();
        for (c, o) in out.iter_mut().enumerate() {
            let Some(own) = row.fits[c] else { continue };
            let mut labellings: Vec<&[Option<u32>]> = vec![own.labels.as_slice()];
            labellings.extend(
                tasks
                    .iter()
                    .zip(&fitted)
                    .filter(|((tc, _), p)| *tc == c && p.is_some())
                    .filter_map(|(_, p)| p.as_ref().map(|p| p.labels.as_slice())),
            );
            o.seed_ari = insiders_eval::mean_pairwise_ari(&labellings).ok();
        }
    }
    // Bootstrap resamples.
    if cfg.bootstraps == 0 || row.fits.iter().all(Option::is_none) {
        return out;
    }
    let n = row.x.nrows();
    let all_k: Option<Vec<usize>> = row.ks.iter().copied().collect();
    let per_boot: Vec<(Vec<usize>, Vec<Option<Partition>>)> = (0..cfg.bootstraps)
        .into_par_iter()
        .map(|b| {
            let rseed = cell_seed(master, &format!("{}#boot{b}", row.row_id));
            let idx = bootstrap_indices(n, rseed);
            let sub = row.x.select(ndarray::Axis(0), &idx);
            let fseed = derive_seed(rseed, 1);
            let parts: Vec<Option<Partition>> = match &all_k {
                // One tree per resample for engines that cut a hierarchy.
                Some(ks) if deterministic => match row.engine.fit_many(sub.view(), ks, fseed) {
                    Ok(v) => v.into_iter().map(Some).collect(),
                    Err(_) => ks
                        .iter()
                        .map(|&k| row.engine.fit(sub.view(), Some(k), fseed).ok())
                        .collect(),
                },
                _ => row
                    .ks
                    .par_iter()
                    .map(|&k| row.engine.fit(sub.view(), k, fseed).ok())
                    .collect(),
            };
            (idx, parts)
        })
        .collect();
    for (c, o) in out.iter_mut().enumerate() {
        let Some(own) = row.fits[c] else { continue };
        let aris: Vec<f64> = per_boot
            .iter()
            .filter_map(|(idx, parts)| {
                let p = parts.get(c)?.as_ref()?;
                resample_ari(&own.labels, idx, &p.labels)
            })
            .collect();
        if !aris.is_empty() {
            o.boot_ari = Some(aris.iter().sum::<f64>() / aris.len() as f64);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use insiders_core::Matrix;

    fn blobs(n: usize, spread: f64) -> Matrix {
        let centres = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]];
        let mut rng = Rng::new(3);
        Matrix::from_shape_fn((n, 2), |(i, j)| centres[i % 3][j] + spread * rng.normal())
    }

    fn row_scores(engine: &str, x: &Matrix, ks: &[Option<usize>]) -> Vec<CellStability> {
        let e = insiders_engines::build(engine, &toml::Table::new()).unwrap();
        let ids: Vec<String> = ks.iter().map(|k| format!("s/{engine}/k{k:?}")).collect();
        let fits: Vec<Partition> = ks
            .iter()
            .zip(&ids)
            .map(|(&k, id)| e.fit(x.view(), k, cell_seed(7, id)).unwrap())
            .collect();
        let refs: Vec<Option<&Partition>> = fits.iter().map(Some).collect();
        let row = Row {
            engine: e.as_ref(),
            x: x.view(),
            row_id: "s/engine",
            cell_ids: &ids,
            ks,
            fits: &refs,
        };
        row_stability(
            &row,
            7,
            &StabilityConfig {
                enabled: true,
                seeds: 3,
                bootstraps: 3,
            },
        )
    }

    #[test]
    fn separated_blobs_are_stable_and_noise_is_not() {
        // Three far-apart blobs at k = 3: every seed and every resample finds them.
        let x = blobs(150, 0.5);
        let s = row_scores("kmeans", &x, &[Some(3)]);
        assert_eq!(s[0].seed_ari, Some(1.0));
        assert_eq!(s[0].boot_ari, Some(1.0));
        // Ward is deterministic: seed ARI 1 by construction, bootstrap measured.
        let w = row_scores("ward", &x, &[Some(2), Some(3)]);
        assert_eq!(w[1].seed_ari, Some(1.0));
        assert_eq!(w[1].boot_ari, Some(1.0));
        // Uniform noise at k = 6 is not reproducible across resamples.
        let mut rng = Rng::new(11);
        let noise = Matrix::from_shape_fn((300, 2), |_| rng.uniform());
        let u = row_scores("kmeans", &noise, &[Some(6)]);
        let boot = u[0].boot_ari.unwrap();
        assert!(boot < 0.95, "bootstrap ARI on noise {boot}");
    }

    #[test]
    fn resample_ari_compares_the_shared_points() {
        let full = [Some(0), Some(0), Some(1), Some(1)];
        // Resample points 3, 0, 0, 2: labels relabelled but the same partition.
        assert_eq!(
            resample_ari(&full, &[3, 0, 0, 2], &[Some(5), Some(7), Some(7), Some(5)]),
            Some(1.0)
        );
        assert!(
            resample_ari(&full, &[3, 0, 0, 2], &[Some(5), Some(5), Some(7), Some(7)]).unwrap()
                < 1.0
        );
        assert_eq!(resample_ari(&full, &[0], &[Some(0), Some(1)]), None);
    }

    #[test]
    fn scores_do_not_depend_on_the_thread_count() {
        let x = blobs(120, 3.0);
        let ks = [Some(2), Some(4), Some(5)];
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| row_scores("kmeans", &x, &ks))
        };
        let (a, b) = (run(1), run(2));
        for (p, q) in a.iter().zip(&b) {
            assert_eq!(p.seed_ari.map(f64::to_bits), q.seed_ari.map(f64::to_bits));
            assert_eq!(p.boot_ari.map(f64::to_bits), q.boot_ari.map(f64::to_bits));
        }
        assert!(
            a.iter()
                .all(|s| s.seed_ari.is_some() && s.boot_ari.is_some())
        );
    }
}
