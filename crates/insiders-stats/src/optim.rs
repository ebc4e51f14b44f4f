//! A small deterministic minimiser: Nelder-Mead with restarts, plus a numeric Hessian.
//!
//! The models of [`crate::clv`] have 3 or 4 positive parameters, optimised on their
//! logarithms; Nelder-Mead needs no gradient, and restarting it from its own best point until
//! the objective stops improving removes its known weakness (collapsed simplices).

/// The result of a minimisation.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    /// The best point.
    pub x: Vec<f64>,
    /// The objective there.
    pub f: f64,
    /// Objective evaluations used.
    pub evaluations: usize,
}

/// Nelder-Mead (standard coefficients 1, 2, 0.5, 0.5) from `x0` with initial step `step`.
///
/// Non-finite objective values count as `+inf` (the simplex moves away from them). Stops when
/// the spread of the simplex values is below `ftol` (absolute) and its size below `xtol`, or
/// after `max_evals` evaluations.
pub(crate) fn nelder_mead<F: FnMut(&[f64]) -> f64>(
    f: &mut F,
    x0: &[f64],
    step: f64,
    ftol: f64,
    xtol: f64,
    max_evals: usize,
) -> Minimum {
    let n = x0.len();
    let mut evals = 0usize;
    let mut eval = |x: &[f64], evals: &mut usize| {
        *evals += 1;
        let v = f(x);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let mut simplex: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
    simplex.push(x0.to_vec());
    for i in 0..n {
        let mut p = x0.to_vec();
        p[i] += step;
        simplex.push(p);
    }
    let mut values: Vec<f64> = simplex.iter().map(|p| eval(p, &mut evals)).collect();
    let mut order: Vec<usize> = (0..=n).collect();
    loop {
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
        let best = order[0];
        let worst = order[n];
        let second = order[n - 1];
        let fspread = values[worst] - values[best];
        let xspread = simplex
            .iter()
            .flat_map(|p| p.iter().zip(&simplex[best]).map(|(a, b)| (a - b).abs()))
            .fold(0.0f64, f64::max);
        if (fspread <= ftol && xspread <= xtol) || evals >= max_evals {
            return Minimum {
                x: simplex[best].clone(),
                f: values[best],
                evaluations: evals,
            };
        }
        // centroid of all but the worst
        let mut c = vec![0.0; n];
        for &i in &order[..n] {
            for (cj, pj) in c.iter_mut().zip(&simplex[i]) {
                *cj += pj / n as f64;
            }
        }
        let towards = |t: f64| -> Vec<f64> {
            c.iter()
                .zip(&simplex[worst])
                .map(|(cj, wj)| cj + t * (wj - cj))
                .collect()
        };
        let xr = towards(-1.0);
        let fr = eval(&xr, &mut evals);
        if fr < values[best] {
            let xe = towards(-2.0);
            let fe = eval(&xe, &mut evals);
            if fe < fr {
                simplex[worst] = xe;
                values[worst] = fe;
            } else {
                simplex[worst] = xr;
                values[worst] = fr;
            }
            continue;
        }
        if fr < values[second] {
            simplex[worst] = xr;
            values[worst] = fr;
            continue;
        }
        let (xc, fc) = if fr < values[worst] {
            let xc = towards(-0.5);
            let fc = eval(&xc, &mut evals);
            (xc, fc.min(f64::INFINITY))
        } else {
            let xc = towards(0.5);
            let fc = eval(&xc, &mut evals);
            (xc, fc)
        };
        if fc < values[worst].min(fr) {
            simplex[worst] = xc;
            values[worst] = fc;
            continue;
        }
        // shrink towards the best point
        let xb = simplex[best].clone();
        for &i in &order[1..] {
            for (pj, bj) in simplex[i].iter_mut().zip(&xb) {
                *pj = bj + 0.5 * (*pj - bj);
            }
            values[i] = eval(&simplex[i], &mut evals);
        }
    }
}

/// Minimises `f` from each start, restarting Nelder-Mead from the best point found until a
/// restart improves the objective by less than `ftol`; returns the best over all starts
/// (ties: the earliest start). Deterministic.
pub(crate) fn minimise<F: FnMut(&[f64]) -> f64>(
    f: &mut F,
    starts: &[Vec<f64>],
    ftol: f64,
    max_evals: usize,
) -> Minimum {
    let mut best: Option<Minimum> = None;
    let mut total = 0usize;
    for s in starts {
        let mut m = nelder_mead(f, s, 0.5, ftol, 1e-9, max_evals);
        total += m.evaluations;
        for _ in 0..20 {
            let r = nelder_mead(f, &m.x, 0.05, ftol, 1e-10, max_evals);
            total += r.evaluations;
            let improved = m.f - r.f;
            if r.f < m.f {
                m = r;
            }
            if improved.is_nan() || improved < ftol {
                break;
            }
        }
        if best.as_ref().is_none_or(|b| m.f < b.f) {
            best = Some(m);
        }
    }
    let mut out = best.unwrap_or(Minimum {
        x: Vec::new(),
        f: f64::INFINITY,
        evaluations: 0,
    });
    out.evaluations = total;
    out
}

/// The Hessian of `f` at `x` by central differences with step `h` (symmetric, row-major).
pub(crate) fn numeric_hessian<F: FnMut(&[f64]) -> f64>(f: &mut F, x: &[f64], h: f64) -> Vec<f64> {
    let n = x.len();
    let f0 = f(x);
    let mut hess = vec![0.0; n * n];
    let mut p = x.to_vec();
    for i in 0..n {
        for j in i..n {
            let v = if i == j {
                p[i] = x[i] + h;
                let fp = f(&p);
                p[i] = x[i] - h;
                let fm = f(&p);
                p[i] = x[i];
                (fp - 2.0 * f0 + fm) / (h * h)
            } else {
                let mut g = |di: f64, dj: f64, p: &mut Vec<f64>| {
                    p[i] = x[i] + di;
                    p[j] = x[j] + dj;
                    let v = f(p);
                    p[i] = x[i];
                    p[j] = x[j];
                    v
                };
                (g(h, h, &mut p) - g(h, -h, &mut p) - g(-h, h, &mut p) + g(-h, -h, &mut p))
                    / (4.0 * h * h)
            };
            hess[i * n + j] = v;
            hess[j * n + i] = v;
        }
    }
    hess
}

/// The lower Cholesky factor of a symmetric positive definite `n x n` matrix, or `None`.
pub(crate) fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// The inverse of a symmetric positive definite matrix through its Cholesky factor.
pub(crate) fn spd_inverse(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let l = cholesky(a, n)?;
    let mut inv = vec![0.0; n * n];
    for col in 0..n {
        // solve L y = e_col, then L^T x = y
        let mut y = vec![0.0; n];
        for i in 0..n {
            let mut s = if i == col { 1.0 } else { 0.0 };
            for k in 0..i {
                s -= l[i * n + k] * y[k];
            }
            y[i] = s / l[i * n + i];
        }
        for i in (0..n).rev() {
            let mut s = y[i];
            for k in i + 1..n {
                s -= l[k * n + i] * inv[k * n + col];
            }
            inv[i * n + col] = s / l[i * n + i];
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_rosenbrock() {
        let mut f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = minimise(&mut f, &[vec![-1.2, 1.0], vec![3.0, -2.0]], 1e-14, 20_000);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-5 && (m.x[1] - 1.0).abs() < 1e-5,
            "{:?}",
            m.x
        );
    }

    #[test]
    fn hessian_and_inverse_of_a_quadratic() {
        // f = 0.5 x^T A x with A = [[4, 1], [1, 3]]
        let mut f = |x: &[f64]| 0.5 * (4.0 * x[0] * x[0] + 2.0 * x[0] * x[1] + 3.0 * x[1] * x[1]);
        let h = numeric_hessian(&mut f, &[0.3, -0.2], 1e-3);
        for (got, want) in h.iter().zip([4.0, 1.0, 1.0, 3.0]) {
            assert!((got - want).abs() < 1e-6, "{h:?}");
        }
        let inv = spd_inverse(&[4.0, 1.0, 1.0, 3.0], 2).unwrap();
        let want = [3.0 / 11.0, -1.0 / 11.0, -1.0 / 11.0, 4.0 / 11.0];
        for (g, w) in inv.iter().zip(want) {
            assert!((g - w).abs() < 1e-14);
        }
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }
}
