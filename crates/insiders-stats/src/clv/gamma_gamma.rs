//! The Gamma-Gamma spend model (Fader, Hardie & Lee 2005; Fader & Hardie 2013).
//!
//! Each purchase of a customer is worth `z ~ Gamma(p, ν)`; across customers `ν ~ Gamma(q, v)`.
//! For a customer with `x` repeat purchases of mean value `m`:
//!
//! `ln L = ln Γ(px+q) - ln Γ(px) - ln Γ(q) + q ln v + (px-1) ln m + px ln x - (px+q) ln(xm+v)`
//! (the density of the mean `m`), the convention of `lifetimes.GammaGammaFitter`.

use rayon::prelude::*;

use super::{AtBound, CustomerSummary};
use crate::StatsError;
use crate::optim::minimise;
use crate::special::{ln_gamma, ln_gamma_ratio};

/// Gamma-Gamma parameters: per-purchase value `Gamma(shape p, rate ν)`, `ν ~ Gamma(shape q,
/// rate v)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GammaGamma {
    /// Shape of the per-purchase value distribution.
    pub p: f64,
    /// Shape of the distribution of the customers' rates `ν`.
    pub q: f64,
    /// Rate of the distribution of the customers' rates `ν` (in money units).
    pub v: f64,
}

/// A maximum-likelihood fit of [`GammaGamma`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GammaGammaFit {
    /// The fitted parameters.
    pub model: GammaGamma,
    /// The maximised log-likelihood, summed over the repeat customers fitted.
    pub log_likelihood: f64,
    /// Number of customers with at least one repeat purchase.
    pub n_customers: usize,
    /// Number of them the likelihood was maximised on: `n_customers`, or
    /// [`super::FIT_SAMPLE_MAX`] above it ([`super::fit_sample`] of the repeat customers).
    pub n_fitted: usize,
    /// Likelihood evaluations used by the optimiser.
    pub evaluations: usize,
    /// The parameters that sit at a bound of [`GammaGamma::FIT_BOUNDS`] (empty for an interior
    /// optimum), e.g. `p` at its upper bound when the likelihood increases towards the limit
    /// `p → ∞, v → 0` (every customer always spends the same amount).
    pub at_bound: Vec<AtBound>,
}

struct Data {
    xs: Vec<f64>,
    group: Vec<usize>,
    x: Vec<f64>,
    m: Vec<f64>,
    ln_m: Vec<f64>,
}

impl Data {
    /// The repeat customers, validated (`m > 0`, finite).
    fn new(customers: &[CustomerSummary]) -> Result<Data, StatsError> {
        let mut pairs = Vec::new();
        for (i, c) in customers.iter().enumerate() {
            if c.frequency == 0 {
                continue;
            }
            if !c.monetary.is_finite() {
                return Err(StatsError::NonFinite {
                    what: "monetary value",
                    index: i,
                    value: c.monetary,
                });
            }
            if c.monetary <= 0.0 {
                return Err(StatsError::OutOfDomain {
                    what: "monetary value",
                    index: i,
                    value: c.monetary,
                    rule: "must be > 0 for a customer with repeat purchases",
                });
            }
            pairs.push((c.frequency, c.monetary));
        }
        let mut xs: Vec<u32> = pairs.iter().map(|p| p.0).collect();
        xs.sort_unstable();
        xs.dedup();
        Ok(Data {
            group: pairs
                .iter()
                .map(|p| xs.partition_point(|&v| v < p.0))
                .collect(),
            xs: xs.into_iter().map(f64::from).collect(),
            x: pairs.iter().map(|p| f64::from(p.0)).collect(),
            m: pairs.iter().map(|p| p.1).collect(),
            ln_m: pairs.iter().map(|p| p.1.ln()).collect(),
        })
    }

    /// The summed log-likelihood, written so that nothing cancels when `p → ∞, v → 0` (the
    /// limit of a constant spend per customer): `ln Γ(px+q) - ln Γ(px) - ln Γ(q) + q ln v -
    /// ln m - px ln(1 + v/(xm)) - q ln(xm + v)`.
    fn log_likelihood(&self, g: &GammaGamma) -> f64 {
        let GammaGamma { p, q, v } = *g;
        let base = -ln_gamma(q) + q * v.ln();
        let c: Vec<f64> = self
            .xs
            .iter()
            .map(|&x| base + ln_gamma_ratio(p * x, q))
            .collect();
        let term = |&i: &usize| {
            let xm = self.x[i] * self.m[i];
            c[self.group[i]] - self.ln_m[i] - p * self.x[i] * (v / xm).ln_1p() - q * (xm + v).ln()
        };
        let n = self.x.len();
        if n <= super::SEQUENTIAL_SUM_MAX {
            let mut sum = 0.0;
            for i in 0..n {
                sum += term(&i);
            }
            return sum;
        }
        let idx: Vec<usize> = (0..n).collect();
        super::chunked_sum(&idx, term)
    }
}

impl GammaGamma {
    /// A model with the given parameters (each finite and > 0).
    ///
    /// # Errors
    /// [`StatsError::Param`] naming the first bad parameter.
    pub fn new(p: f64, q: f64, v: f64) -> Result<GammaGamma, StatsError> {
        for (key, val) in [("p", p), ("q", q), ("v", v)] {
            if !(val.is_finite() && val > 0.0) {
                return Err(StatsError::param(
                    key,
                    format!("must be finite and > 0, got {val}"),
                ));
            }
        }
        Ok(GammaGamma { p, q, v })
    }

    /// The box of the maximum-likelihood search: `(name, lower, upper)` for `p`, `q`, `v` (`v`
    /// in money units). A Gamma with shape `1e8` has a coefficient of variation of `1e-4`, so
    /// the bounds stop the search at models indistinguishable from the limits `p → ∞`
    /// (constant spend per customer) or `q → ∞` (the same spend rate for everyone).
    pub const FIT_BOUNDS: [(&'static str, f64, f64); 3] =
        [("p", 1e-8, 1e8), ("q", 1e-8, 1e8), ("v", 1e-10, 1e14)];

    /// Fits the model by maximum likelihood on the customers with `x > 0` (others are
    /// skipped, as the model needs a repeat purchase to observe spend), optimising the
    /// log-parameters by restarted Nelder-Mead from three fixed starts (in parallel,
    /// deterministic), inside [`GammaGamma::FIT_BOUNDS`] (the objective beyond a bound is its
    /// value at the bound; [`GammaGammaFit::at_bound`] lists the parameters that end there).
    ///
    /// The fit does not constrain `q > 1`: with `q <= 1` the spend distribution has no mean,
    /// and [`GammaGamma::conditional_expected_value`] returns an error for customers with
    /// `p x + q <= 1` (all customers without repeat purchase) rather than a number.
    ///
    /// # Errors
    /// [`StatsError::TooFew`] for fewer than 3 repeat customers; [`StatsError::OutOfDomain`] /
    /// [`StatsError::NonFinite`] for a repeat customer whose `monetary` is not finite and > 0;
    /// [`StatsError::Numerical`] if no start reaches a finite likelihood.
    pub fn fit(customers: &[CustomerSummary]) -> Result<GammaGammaFit, StatsError> {
        let all = Data::new(customers)?;
        let n_customers = all.x.len();
        let data = if n_customers > super::FIT_SAMPLE_MAX {
            let repeat: Vec<CustomerSummary> = customers
                .iter()
                .filter(|c| c.frequency > 0)
                .copied()
                .collect();
            Data::new(&super::fit_sample(&repeat))?
        } else {
            all
        };
        let n = data.x.len();
        if n < 3 {
            return Err(StatsError::TooFew {
                what: "customers with repeat purchases for the Gamma-Gamma fit",
                needed: 3,
                found: n,
            });
        }
        let mean_m = data.m.iter().sum::<f64>() / n as f64;
        let starts: Vec<Vec<f64>> = [
            [1.0, 1.0, 1.0],
            [1.0, 2.0, mean_m],
            [5.0, 4.0, 0.6 * mean_m],
        ]
        .iter()
        .map(|s| s.iter().map(|v| v.ln()).collect())
        .collect();
        let bounds = Self::FIT_BOUNDS.map(|(_, lo, hi)| (lo.ln(), hi.ln()));
        let clamp = |z: &[f64]| -> [f64; 3] {
            let mut c = [0.0; 3];
            for (ci, (zi, (lo, hi))) in c.iter_mut().zip(z.iter().zip(bounds)) {
                *ci = zi.clamp(lo, hi);
            }
            c
        };
        let nf = n as f64;
        let objective = |z: &[f64]| -> f64 {
            let c = clamp(z);
            let g = GammaGamma {
                p: c[0].exp(),
                q: c[1].exp(),
                v: c[2].exp(),
            };
            -data.log_likelihood(&g) / nf
        };
        let results: Vec<_> = starts
            .par_iter()
            .map(|s| {
                let mut f = objective;
                minimise(&mut f, std::slice::from_ref(s), 1e-13, 20_000)
            })
            .collect();
        let mut best = None::<crate::optim::Minimum>;
        let mut evaluations = 0;
        for m in results {
            evaluations += m.evaluations;
            if m.f.is_finite() && best.as_ref().is_none_or(|b| m.f < b.f) {
                best = Some(m);
            }
        }
        let best = best.ok_or_else(|| {
            StatsError::numerical("Gamma-Gamma fit", "no start reached a finite likelihood")
        })?;
        let z = clamp(&best.x);
        let model = GammaGamma::new(z[0].exp(), z[1].exp(), z[2].exp())?;
        Ok(GammaGammaFit {
            log_likelihood: data.log_likelihood(&model),
            model,
            n_customers,
            n_fitted: n,
            evaluations,
            at_bound: super::bgnbd::bounds_hit(&z, &Self::FIT_BOUNDS),
        })
    }

    /// The log-likelihood of the repeat customers (`x > 0`) under this model, summed.
    ///
    /// # Errors
    /// [`StatsError::Empty`] when no customer has `x > 0`; invalid spends as in
    /// [`GammaGamma::fit`].
    pub fn log_likelihood(&self, customers: &[CustomerSummary]) -> Result<f64, StatsError> {
        let data = Data::new(customers)?;
        if data.x.is_empty() {
            return Err(StatsError::Empty {
                what: "customers with repeat purchases",
            });
        }
        Ok(data.log_likelihood(self))
    }

    /// The population mean value of a purchase, `p v / (q - 1)`.
    ///
    /// # Errors
    /// [`StatsError::Numerical`] when `q <= 1` (the mean is infinite).
    pub fn expected_value(&self) -> Result<f64, StatsError> {
        self.conditional_expected_value(0.0, 0.0)
    }

    /// The expected value of a future purchase of a customer with `x` repeat purchases of mean
    /// value `m`: `p (v + x m) / (p x + q - 1)`, a weighted average of the population mean
    /// and the customer's own mean (for `x = 0`, `m` is ignored: the population mean).
    ///
    /// # Errors
    /// [`StatsError::OutOfDomain`] / [`StatsError::NonFinite`] for `x` not a whole number
    /// `>= 0` or `m` not finite (or `m <= 0` with `x > 0`); [`StatsError::Numerical`] when
    /// `p x + q <= 1`.
    pub fn conditional_expected_value(&self, x: f64, m: f64) -> Result<f64, StatsError> {
        if !(x.is_finite() && x >= 0.0 && x.fract() == 0.0) {
            return Err(StatsError::OutOfDomain {
                what: "frequency x",
                index: 0,
                value: x,
                rule: "must be a whole number >= 0",
            });
        }
        if !m.is_finite() {
            return Err(StatsError::NonFinite {
                what: "monetary value",
                index: 0,
                value: m,
            });
        }
        if x > 0.0 && m <= 0.0 {
            return Err(StatsError::OutOfDomain {
                what: "monetary value",
                index: 0,
                value: m,
                rule: "must be > 0 when x > 0",
            });
        }
        let GammaGamma { p, q, v } = *self;
        let den = p * x + q - 1.0;
        if den <= 0.0 {
            return Err(StatsError::numerical(
                "Gamma-Gamma expectation",
                format!("p x + q - 1 = {den} <= 0: the expected value is infinite"),
            ));
        }
        let mx = if x > 0.0 { x * m } else { 0.0 };
        Ok(p * (v + mx) / den)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_value_is_a_weighted_average() {
        let g = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
        let pop = g.expected_value().unwrap();
        assert!((pop - 6.25 * 15.44 / 2.74).abs() < 1e-12);
        let e = g.conditional_expected_value(5.0, 50.0).unwrap();
        let w = 6.25 * 5.0 / (6.25 * 5.0 + 3.74 - 1.0);
        assert!((e - (w * 50.0 + (1.0 - w) * pop)).abs() < 1e-9);
        assert!(g.conditional_expected_value(1.5, 1.0).is_err());
        assert!(g.conditional_expected_value(2.0, -1.0).is_err());
        assert!(
            GammaGamma::new(1.0, 0.5, 1.0)
                .unwrap()
                .expected_value()
                .is_err()
        );
        assert!(GammaGamma::new(1.0, -0.5, 1.0).is_err());
    }

    #[test]
    fn fit_needs_repeat_customers_with_positive_spend() {
        let mk = |frequency, monetary| CustomerSummary {
            customer: 0,
            frequency,
            recency: 1.0,
            age: 2.0,
            monetary,
            total_value: 1.0,
            first_day: 0,
        };
        let few = [mk(1, 2.0), mk(0, 0.0), mk(2, 3.0)];
        assert!(matches!(
            GammaGamma::fit(&few),
            Err(StatsError::TooFew { found: 2, .. })
        ));
        let bad = [mk(1, 2.0), mk(1, 0.0), mk(2, 3.0), mk(3, 1.0)];
        assert!(matches!(
            GammaGamma::fit(&bad),
            Err(StatsError::OutOfDomain { index: 1, .. })
        ));
    }
}
