//! Unit tests of the `gmm` engine (the kernels' own tests are in `kernels.rs`).

use super::cholesky::precision_cholesky;
use super::params::{CovarianceType, GmmParams, GmmRefine};
use super::*;
use insiders_core::Rng;

fn mixture(seed: u64) -> (Matrix, Vec<usize>) {
    // Three anisotropic 2-D Gaussians with different sizes.
    let mut rng = Rng::new(seed);
    let specs = [
        (300, [0.0, 0.0], [[1.0, 0.0], [0.8, 0.3]]),
        (200, [6.0, 1.0], [[0.5, 0.0], [0.0, 0.5]]),
        (100, [2.0, 7.0], [[0.3, 0.0], [-0.6, 1.0]]),
    ];
    let n: usize = specs.iter().map(|s| s.0).sum();
    let mut x = Matrix::zeros((n, 2));
    let mut truth = Vec::with_capacity(n);
    let mut i = 0;
    for (b, (m, mu, a)) in specs.iter().enumerate() {
        for _ in 0..*m {
            let (z0, z1) = (rng.normal(), rng.normal());
            x[[i, 0]] = mu[0] + a[0][0] * z0 + a[0][1] * z1;
            x[[i, 1]] = mu[1] + a[1][0] * z0 + a[1][1] * z1;
            truth.push(b);
            i += 1;
        }
    }
    (x, truth)
}

/// Direct density of a 2-D Gaussian (independent of the Cholesky machinery).
fn density(x: [f64; 2], mu: [f64; 2], s: &Matrix) -> f64 {
    let det = s[[0, 0]] * s[[1, 1]] - s[[0, 1]] * s[[1, 0]];
    let (a, b) = (x[0] - mu[0], x[1] - mu[1]);
    let q = (s[[1, 1]] * a * a - 2.0 * s[[0, 1]] * a * b + s[[0, 0]] * b * b) / det;
    (-0.5 * q).exp() / (std::f64::consts::TAU * det.sqrt())
}

#[test]
fn likelihood_matches_direct_density_and_recovers_components() {
    let (x, truth) = mixture(1);
    for cov in [
        CovarianceType::Full,
        CovarianceType::Diag,
        CovarianceType::Spherical,
    ] {
        let g = GaussianMixture::new(GmmParams {
            covariance: cov,
            ..GmmParams::default()
        })
        .unwrap();
        let m = g.fit_model(x.view(), 3, 7).unwrap();
        // Mean log-likelihood recomputed from the returned parameters with a direct formula.
        let mut ll = 0.0;
        for i in 0..x.nrows() {
            let xi = [x[[i, 0]], x[[i, 1]]];
            let p: f64 = (0..3)
                .map(|j| {
                    m.weights[j]
                        * density(xi, [m.means[[j, 0]], m.means[[j, 1]]], &m.covariances[j])
                })
                .sum();
            ll += p.ln();
        }
        ll /= x.nrows() as f64;
        assert!(
            (ll - m.mean_log_likelihood).abs() < 1e-9,
            "{cov:?}: {ll} vs {}",
            m.mean_log_likelihood
        );
        // Precision factors invert the covariances.
        for j in 0..3 {
            let p = &m.precisions_cholesky[j];
            let prec = p.dot(&p.t());
            let eye = prec.dot(&m.covariances[j]);
            for a in 0..2 {
                for b in 0..2 {
                    let want = if a == b { 1.0 } else { 0.0 };
                    assert!((eye[[a, b]] - want).abs() < 1e-9, "{cov:?} {eye:?}");
                }
            }
        }
        assert!((m.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for row in m.responsibilities.outer_iter() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        if cov == CovarianceType::Full {
            // Every true component maps to one fitted component, with >= 97% agreement.
            let mut agree = 0;
            for b in 0..3 {
                let mut counts = [0usize; 3];
                for (t, l) in truth.iter().zip(&m.labels) {
                    if *t == b {
                        counts[*l] += 1;
                    }
                }
                agree += counts.iter().max().unwrap();
            }
            assert!(agree as f64 >= 0.97 * x.nrows() as f64, "agree {agree}");
            assert!(m.converged);
        }
        // score_samples on the training points gives the same numbers.
        let (lls, resp) = m.score_samples(x.view()).unwrap();
        let mean = lls.iter().sum::<f64>() / lls.len() as f64;
        assert!((mean - m.mean_log_likelihood).abs() < 1e-9);
        assert!((&resp - &m.responsibilities).iter().all(|v| v.abs() < 1e-9));
    }
}

#[test]
fn bic_aic_and_parameter_count() {
    let (x, _) = mixture(2);
    let m = GaussianMixture::default()
        .fit_model(x.view(), 3, 0)
        .unwrap();
    assert_eq!(m.n_parameters(), 3 * 3 + 3 * 2 + 2);
    let n = x.nrows() as f64;
    let ll = m.mean_log_likelihood * n;
    assert!((m.bic() - (-2.0 * ll + 17.0 * n.ln())).abs() < 1e-9);
    assert!((m.aic() - (-2.0 * ll + 34.0)).abs() < 1e-9);
    let p = m.partition();
    assert_eq!(p.diag.extra["bic"], m.bic());
    assert_eq!(p.diag.log_likelihood, Some(ll));
}

#[test]
fn more_restarts_never_lower_the_lower_bound() {
    let (x, _) = mixture(3);
    let one = GaussianMixture::default()
        .fit_model(x.view(), 5, 4)
        .unwrap();
    let ten = GaussianMixture::new(GmmParams {
        n_init: 10,
        ..GmmParams::default()
    })
    .unwrap()
    .fit_model(x.view(), 5, 4)
    .unwrap();
    // Run 0 of n_init = 10 is the n_init = 1 run (before refinement).
    assert_eq!(ten.run_lower_bounds[0], one.run_lower_bounds[0]);
    assert!(ten.run_lower_bounds[ten.best_run] >= one.run_lower_bounds[0]);
    // The refinement starts from the best restart and never lowers its bound.
    assert!(ten.run_lower_bounds.iter().all(|&b| b <= ten.lower_bound));
    assert!(one.lower_bound >= one.run_lower_bounds[0]);
}

/// Three separated blobs and an EM start with two components on the first blob and one
/// on the other two: plain EM stays in that local optimum, split-and-merge leaves it
/// (merge the pair, split the wide one) and recovers the blobs.
#[test]
fn split_and_merge_escapes_a_local_optimum() {
    let mut rng = Rng::new(11);
    let centres = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]];
    let mut x = Matrix::zeros((600, 2));
    let mut truth = Vec::new();
    for i in 0..600 {
        let b = i % 3;
        x[[i, 0]] = centres[b][0] + rng.normal();
        x[[i, 1]] = centres[b][1] + rng.normal();
        truth.push(b);
    }
    let start: Vec<usize> = (0..600)
        .map(|i| match truth[i] {
            0 => usize::from(x[[i, 0]] > 0.0),
            _ => 2,
        })
        .collect();
    let fit = |refine: GmmRefine| {
        GaussianMixture::new(GmmParams {
            refine,
            ..GmmParams::default()
        })
        .unwrap()
        .fit_from_labels(x.view(), 3, &start)
        .unwrap()
    };
    let (plain, smem) = (fit(GmmRefine::None), fit(GmmRefine::Smem));
    assert_eq!(plain.refine_trials, 0);
    assert!(smem.refine_accepted >= 1);
    assert!(
        smem.mean_log_likelihood > plain.mean_log_likelihood + 0.1,
        "{} vs {}",
        smem.mean_log_likelihood,
        plain.mean_log_likelihood
    );
    // Plain EM keeps two components on blob 0; the refined fit has one per blob.
    let comps_of = |m: &GmmModel, b: usize| -> usize {
        let mut seen = [false; 3];
        for (t, l) in truth.iter().zip(&m.labels) {
            if *t == b {
                seen[*l] = true;
            }
        }
        seen.iter().filter(|s| **s).count()
    };
    assert_eq!(comps_of(&plain, 0), 2);
    for b in 0..3 {
        assert_eq!(comps_of(&smem, b), 1, "blob {b}");
    }
}

#[test]
fn refinement_is_deterministic_across_thread_counts() {
    let (x, _) = mixture(4);
    let g = GaussianMixture::new(GmmParams {
        n_init: 2,
        ..GmmParams::default()
    })
    .unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| g.fit_model(x.view(), 7, 3).unwrap())
    };
    let (a, b) = (run(1), run(2));
    assert!(a.refine_trials > 0);
    assert_eq!(a, b);
}

/// The lane kernels against plain per-component loops, bit for bit: the E-step's
/// responsibilities and first moments against [`Params::responsibilities_of`] and
/// [`first_moments`], the scatter against the one-component loop with zero
/// responsibilities skipped; and the AVX2 path against the baseline one.

#[test]
fn precision_cholesky_of_known_matrix() {
    let s = [4.0, 2.0, 2.0, 3.0];
    let p = precision_cholesky(&s, 2).unwrap();
    assert_eq!(p[2], 0.0); // upper triangular
    // P P^T = S^-1 = [[3, -2], [-2, 4]] / 8.
    let pp = [
        p[0] * p[0] + p[1] * p[1],
        p[0] * p[2] + p[1] * p[3],
        p[3] * p[3] + p[2] * p[2],
    ];
    assert!((pp[0] - 3.0 / 8.0).abs() < 1e-15);
    assert!((pp[1] + 2.0 / 8.0).abs() < 1e-15);
    assert!((pp[2] - 4.0 / 8.0).abs() < 1e-15);
    assert!(precision_cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
}

#[test]
fn params_are_validated() {
    for (key, t) in [
        ("covariance", "covariance = \"tied\""),
        ("n_init", "n_init = 0"),
        ("max_iter", "max_iter = 0"),
        ("tol", "tol = nan"),
        ("reg_covar", "reg_covar = -1e-6"),
        ("refine", "refine = \"em\""),
        ("reg_cov", "reg_cov = 1.0"),
    ] {
        let table: toml::Table = t.parse().unwrap();
        match build_gmm(&table) {
            Err(Error::Param { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{t}: {other:?}"),
        }
    }
}

#[test]
fn singular_covariance_without_regularisation_is_an_error() {
    // Points on a line: the full covariance is singular when reg_covar = 0.
    let x = Matrix::from_shape_fn(
        (50, 2),
        |(i, j)| if j == 0 { i as f64 } else { 2.0 * i as f64 },
    );
    let g = GaussianMixture::new(GmmParams {
        reg_covar: 0.0,
        ..GmmParams::default()
    })
    .unwrap();
    assert!(matches!(
        g.fit_model(x.view(), 2, 0),
        Err(Error::Numerical { .. })
    ));
    // With the default regularisation it fits.
    assert!(GaussianMixture::default().fit_model(x.view(), 2, 0).is_ok());
}

#[test]
fn unknown_covariance_is_rejected_naming_the_key_and_the_choices() {
    crate::params::assert_rejects_unknown_choice(
        build_gmm,
        "covariance",
        &["full", "diag", "spherical"],
    );
}

#[test]
fn unknown_refine_is_rejected_naming_the_key_and_the_choices() {
    crate::params::assert_rejects_unknown_choice(build_gmm, "refine", &["smem", "none"]);
}
