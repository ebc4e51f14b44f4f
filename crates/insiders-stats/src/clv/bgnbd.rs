//! The BG/NBD model (Fader, Hardie & Lee 2005).
//!
//! While alive, a customer buys as a Poisson process of rate `λ ~ Gamma(r, α)`; after each
//! purchase they drop out for good with probability `p ~ Beta(a, b)`. For a customer with `x`
//! repeat purchases, the last at `t_x`, observed for `T`:
//!
//! `L = B(a, b+x)/B(a, b) · Γ(r+x)/Γ(r) · α^r/(α+T)^(r+x)
//!    + [x > 0] · B(a+1, b+x-1)/B(a, b) · Γ(r+x)/Γ(r) · α^r/(α+t_x)^(r+x)`.

use rayon::prelude::*;

use super::{CustomerSummary, check_rft, check_summaries};
use crate::StatsError;
use crate::optim::minimise;
use crate::special::{ln_gamma, log_add_exp};

/// BG/NBD parameters: purchase rates `λ ~ Gamma(shape r, rate α)` (α in days), dropout
/// probabilities `p ~ Beta(a, b)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BgNbd {
    /// Shape of the purchase-rate distribution.
    pub r: f64,
    /// Rate (scale of time, in days) of the purchase-rate distribution.
    pub alpha: f64,
    /// First shape of the dropout-probability distribution.
    pub a: f64,
    /// Second shape of the dropout-probability distribution.
    pub b: f64,
}

/// A maximum-likelihood fit of [`BgNbd`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BgNbdFit {
    /// The fitted parameters.
    pub model: BgNbd,
    /// The maximised log-likelihood, summed over customers.
    pub log_likelihood: f64,
    /// Number of customers fitted.
    pub n_customers: usize,
    /// Likelihood evaluations used by the optimiser.
    pub evaluations: usize,
}

/// The fit's data, grouped so that each transcendental function is evaluated once per
/// distinct value: `ln Γ` once per distinct `x`, `ln(α + T)` once per distinct age and
/// `ln(α + t_x)` once per distinct recency (ages and recencies are whole days in practice).
struct Data {
    xs: Vec<f64>,
    ages: Vec<f64>,
    recencies: Vec<f64>,
    /// Customers with `x = 0`: index of their age.
    zero_age: Vec<usize>,
    /// Customers with `x > 0`: (index of x, x, index of age, index of recency).
    repeat: Vec<(usize, f64, usize, usize)>,
}

fn distinct(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

fn index_of(sorted: &[f64], v: f64) -> usize {
    sorted.partition_point(|&s| s.total_cmp(&v).is_lt())
}

impl Data {
    fn new(customers: &[CustomerSummary]) -> Data {
        let xs = distinct(customers.iter().map(|c| f64::from(c.frequency)).collect());
        let ages = distinct(customers.iter().map(|c| c.age).collect());
        let recencies = distinct(customers.iter().map(|c| c.recency).collect());
        let mut zero_age = Vec::new();
        let mut repeat = Vec::new();
        for c in customers {
            let ia = index_of(&ages, c.age);
            if c.frequency == 0 {
                zero_age.push(ia);
            } else {
                let x = f64::from(c.frequency);
                repeat.push((index_of(&xs, x), x, ia, index_of(&recencies, c.recency)));
            }
        }
        Data {
            xs,
            ages,
            recencies,
            zero_age,
            repeat,
        }
    }

    /// The summed log-likelihood (sequential sum: deterministic).
    fn log_likelihood(&self, m: &BgNbd) -> f64 {
        let BgNbd { r, alpha, a, b } = *m;
        let base = -ln_gamma(r) + r * alpha.ln() + ln_gamma(a + b) - ln_gamma(b);
        let c12: Vec<f64> = self
            .xs
            .iter()
            .map(|&x| base + ln_gamma(r + x) + ln_gamma(b + x) - ln_gamma(a + b + x))
            .collect();
        let c4: Vec<f64> = self
            .xs
            .iter()
            .map(|&x| {
                if x > 0.0 {
                    a.ln() - (b + x - 1.0).ln()
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect();
        let ln_age: Vec<f64> = self.ages.iter().map(|t| (alpha + t).ln()).collect();
        let ln_rec: Vec<f64> = self.recencies.iter().map(|t| (alpha + t).ln()).collect();
        let mut sum = 0.0;
        if !self.zero_age.is_empty() {
            // x = 0: c12(0) - r ln(α + T)
            let mut s0 = 0.0;
            for &ia in &self.zero_age {
                s0 += ln_age[ia];
            }
            sum += self.zero_age.len() as f64 * c12[0] - r * s0;
        }
        for &(g, x, ia, ir) in &self.repeat {
            let a3 = -(r + x) * ln_age[ia];
            let a4 = c4[g] - (r + x) * ln_rec[ir];
            sum += c12[g] + log_add_exp(a3, a4);
        }
        sum
    }
}

fn check_params(r: f64, alpha: f64, a: f64, b: f64) -> Result<(), StatsError> {
    for (key, v) in [("r", r), ("alpha", alpha), ("a", a), ("b", b)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(StatsError::param(
                key,
                format!("must be finite and > 0, got {v}"),
            ));
        }
    }
    Ok(())
}

impl BgNbd {
    /// A model with the given parameters (each finite and > 0).
    ///
    /// # Errors
    /// [`StatsError::Param`] naming the first bad parameter.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<BgNbd, StatsError> {
        check_params(r, alpha, a, b)?;
        Ok(BgNbd { r, alpha, a, b })
    }

    /// Fits the model by maximum likelihood.
    ///
    /// The log-parameters are optimised by Nelder-Mead from four fixed starts (scaled to the
    /// customers' ages), each restarted from its own optimum until the mean log-likelihood
    /// improves by less than 1e-12; the starts run in parallel and the best (earliest on ties)
    /// wins, so the fit is deterministic.
    ///
    /// When the data show no sign of dropout the maximum lies on the boundary `a → 0`,
    /// `b → ∞` (the model tends to the NBD); the fit then stops on that ridge, where `a` and `b`
    /// are individually unidentified but the likelihood and the predictions are not.
    ///
    /// # Errors
    /// [`StatsError::TooFew`] for fewer than 4 customers; [`StatsError::Degenerate`] when no
    /// customer has a repeat purchase; [`StatsError::NonFinite`] / [`StatsError::OutOfDomain`]
    /// for invalid summaries; [`StatsError::Numerical`] if no start reaches a finite likelihood.
    pub fn fit(customers: &[CustomerSummary]) -> Result<BgNbdFit, StatsError> {
        if customers.len() < 4 {
            return Err(StatsError::TooFew {
                what: "customers for the BG/NBD fit",
                needed: 4,
                found: customers.len(),
            });
        }
        check_summaries(customers)?;
        if customers.iter().all(|c| c.frequency == 0) {
            return Err(StatsError::Degenerate(
                "no customer has a repeat purchase: the BG/NBD cannot be fitted".into(),
            ));
        }
        let data = Data::new(customers);
        let n = customers.len() as f64;
        let max_age = customers.iter().map(|c| c.age).fold(0.0f64, f64::max);
        let scale = if max_age > 0.0 { max_age / 10.0 } else { 1.0 };
        let starts: Vec<Vec<f64>> = [
            [1.0f64, 1.0, 1.0, 1.0],
            [0.5, 2.0, 0.5, 2.0],
            [0.2, 0.5, 1.0, 5.0],
            [2.0, 5.0, 0.2, 0.5],
        ]
        .iter()
        .map(|s| vec![s[0].ln(), (s[1] * scale).ln(), s[2].ln(), s[3].ln()])
        .collect();
        let objective = |z: &[f64]| -> f64 {
            if z.iter().any(|v| v.abs() > 50.0) {
                return f64::INFINITY;
            }
            let m = BgNbd {
                r: z[0].exp(),
                alpha: z[1].exp(),
                a: z[2].exp(),
                b: z[3].exp(),
            };
            -data.log_likelihood(&m) / n
        };
        let results: Vec<_> = starts
            .par_iter()
            .map(|s| {
                let mut f = objective;
                minimise(&mut f, std::slice::from_ref(s), 1e-12, 20_000)
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
            StatsError::numerical("BG/NBD fit", "no start reached a finite likelihood")
        })?;
        let model = BgNbd::new(
            best.x[0].exp(),
            best.x[1].exp(),
            best.x[2].exp(),
            best.x[3].exp(),
        )?;
        Ok(BgNbdFit {
            log_likelihood: data.log_likelihood(&model),
            model,
            n_customers: customers.len(),
            evaluations,
        })
    }

    /// The log-likelihood of the customers under this model, summed.
    ///
    /// # Errors
    /// [`StatsError::Empty`] for no customers; invalid summaries as in [`BgNbd::fit`].
    pub fn log_likelihood(&self, customers: &[CustomerSummary]) -> Result<f64, StatsError> {
        if customers.is_empty() {
            return Err(StatsError::Empty { what: "customers" });
        }
        check_summaries(customers)?;
        Ok(Data::new(customers).log_likelihood(self))
    }

    /// The log-likelihood of one customer with `x` repeat purchases, the last at `t_x`, of
    /// age `age` (= `T`).
    ///
    /// # Errors
    /// [`StatsError::OutOfDomain`] / [`StatsError::NonFinite`] for an invalid `(x, t_x, T)`.
    pub fn customer_log_likelihood(&self, x: f64, t_x: f64, age: f64) -> Result<f64, StatsError> {
        check_rft(x, t_x, age)?;
        let c = CustomerSummary {
            customer: 0,
            frequency: x as u32,
            recency: t_x,
            age,
            monetary: 0.0,
            total_value: 0.0,
            first_day: 0,
        };
        Ok(Data::new(std::slice::from_ref(&c)).log_likelihood(self))
    }

    /// The probability that a customer with history `(x, t_x, T = age)` is still alive at `T`:
    /// `1 / (1 + [x > 0] · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x))`.
    ///
    /// # Errors
    /// As [`BgNbd::customer_log_likelihood`].
    pub fn prob_alive(&self, x: f64, t_x: f64, age: f64) -> Result<f64, StatsError> {
        check_rft(x, t_x, age)?;
        Ok(1.0 / (1.0 + self.dead_odds(x, t_x, age)))
    }

    /// `[x > 0] · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x)`: the odds of having dropped out.
    pub(crate) fn dead_odds(&self, x: f64, t_x: f64, age: f64) -> f64 {
        if x == 0.0 {
            return 0.0;
        }
        let BgNbd { r, alpha, a, b } = *self;
        (a.ln() - (b + x - 1.0).ln() + (r + x) * ((alpha + age).ln() - (alpha + t_x).ln())).exp()
    }

    /// The expected number of purchases in the next `t` days of a customer with history
    /// `(x, t_x, T = age)` (Fader, Hardie & Lee 2005, eq. 10):
    ///
    /// `E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) ·
    /// ₂F₁(r+x, b+x; a+b+x-1; t/(α+T+t))] / (1 + [x > 0] · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x))`.
    ///
    /// Evaluated through Euler's transformation of ₂F₁, which turns the bracket into a series
    /// with no cancellation and no singularity at `a = 1`.
    ///
    /// # Errors
    /// As [`BgNbd::customer_log_likelihood`], plus [`StatsError::Param`] for `t < 0` or
    /// non-finite, and [`StatsError::Numerical`] if `a + b + x <= 1` or the series does not
    /// converge.
    pub fn expected_purchases(
        &self,
        t: f64,
        x: f64,
        t_x: f64,
        age: f64,
    ) -> Result<f64, StatsError> {
        check_rft(x, t_x, age)?;
        if !(t.is_finite() && t >= 0.0) {
            return Err(StatsError::param(
                "t",
                format!("must be finite and >= 0, got {t}"),
            ));
        }
        let unconditional = self.alive_expectation(t, x, age)?;
        Ok(unconditional / (1.0 + self.dead_odds(x, t_x, age)))
    }

    /// The expected number of purchases in the first `t` days of a new customer:
    /// `E[X(t)] = (a+b-1)/(a-1) · [1 - (α/(α+t))^r · ₂F₁(r, b; a+b-1; t/(α+t))]`.
    ///
    /// # Errors
    /// [`StatsError::Param`] for a negative or non-finite `t`; [`StatsError::Numerical`] if
    /// `a + b <= 1` or the series does not converge.
    pub fn expected_purchases_new(&self, t: f64) -> Result<f64, StatsError> {
        if !(t.is_finite() && t >= 0.0) {
            return Err(StatsError::param(
                "t",
                format!("must be finite and >= 0, got {t}"),
            ));
        }
        self.alive_expectation(t, 0.0, 0.0)
    }

    /// `(a+b+x-1)/(a-1) · [1 - (1-z)^(r+x) ₂F₁(r+x, b+x; a+b+x-1; z)]` with
    /// `z = t/(α+T+t)`, via `₂F₁(A,B;C;z) = (1-z)^(C-A-B) ₂F₁(C-A, C-B; C; z)`, `C-B = a-1 = ε`:
    /// the bracket is `1 - (1-z)^ε (1 + ε G)` with `G = Σ_{n≥1} (C-A)_n (ε+1)_{n-1} z^n /
    /// ((C)_n n!)`, so the whole is `C · [-expm1(ε L)/ε - e^{ε L} G]` with `L = ln(1-z)`.
    fn alive_expectation(&self, t: f64, x: f64, age: f64) -> Result<f64, StatsError> {
        if t == 0.0 {
            return Ok(0.0);
        }
        let BgNbd { r, alpha, a, b } = *self;
        let c = a + b + x - 1.0;
        if c <= 0.0 {
            return Err(StatsError::numerical(
                "BG/NBD expectation",
                format!("a + b + x - 1 = {c} <= 0: the expectation is undefined"),
            ));
        }
        let eps = a - 1.0;
        let ca = a + b - 1.0 - r;
        let z = t / (alpha + age + t);
        let l = -(t / (alpha + age)).ln_1p();
        let mut term = ca * z / c;
        let mut g = term;
        let mut n = 1.0;
        let mut converged = false;
        for _ in 0..1_000_000 {
            term *= (ca + n) * (eps + n) * z / ((c + n) * (n + 1.0));
            g += term;
            n += 1.0;
            if term.abs() <= 1e-17 * g.abs() || term == 0.0 {
                converged = true;
                break;
            }
        }
        if !converged || !g.is_finite() {
            return Err(StatsError::numerical(
                "BG/NBD expectation",
                format!("hypergeometric series did not converge (z = {z})"),
            ));
        }
        let head = if eps == 0.0 {
            -l
        } else {
            -(eps * l).exp_m1() / eps
        };
        Ok(c * (head - (eps * l).exp() * g))
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn cdnow() -> BgNbd {
        // Fader, Hardie & Lee (2005), CDNOW, weeks
        BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap()
    }

    /// The published closed form evaluated by the plain ₂F₁ series (no transformation).
    fn naive(m: &BgNbd, t: f64, x: f64, t_x: f64, age: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *m;
        let (aa, bb, cc) = (r + x, b + x, a + b + x - 1.0);
        let z = t / (alpha + age + t);
        let mut term = 1.0;
        let mut f = 1.0;
        for k in 0..100_000 {
            let k = k as f64;
            term *= (aa + k) * (bb + k) * z / ((cc + k) * (k + 1.0));
            f += term;
            if term.abs() < 1e-18 * f {
                break;
            }
        }
        let num = (a + b + x - 1.0) / (a - 1.0)
            * (1.0 - ((alpha + age) / (alpha + age + t)).powf(r + x) * f);
        let den = if x > 0.0 {
            1.0 + a / (b + x - 1.0) * ((alpha + age) / (alpha + t_x)).powf(r + x)
        } else {
            1.0
        };
        num / den
    }

    #[test]
    fn expectation_matches_the_plain_series() {
        let m = cdnow();
        for &(t, x, t_x, age) in &[
            (39.0, 2.0, 30.43, 38.86),
            (39.0, 0.0, 0.0, 38.86),
            (10.0, 7.0, 35.0, 38.0),
            (100.0, 1.0, 1.71, 38.86),
        ] {
            let got = m.expected_purchases(t, x, t_x, age).unwrap();
            let want = naive(&m, t, x, t_x, age);
            assert!(((got - want) / want).abs() < 1e-10, "{got} vs {want}");
        }
        // a = 1 exactly: the limit is finite and continuous
        let one = BgNbd::new(0.5, 5.0, 1.0, 3.0).unwrap();
        let near = BgNbd::new(0.5, 5.0, 1.0 + 1e-9, 3.0).unwrap();
        let e1 = one.expected_purchases(20.0, 3.0, 10.0, 15.0).unwrap();
        let e2 = near.expected_purchases(20.0, 3.0, 10.0, 15.0).unwrap();
        assert!((e1 - e2).abs() < 1e-7 && e1 > 0.0);
    }

    #[test]
    fn published_cdnow_values() {
        // Fader, Hardie & Lee (2005) report E[X(39)] ≈ 1.2 for a new customer and
        // E[Y(39) | x=2, t_x=30.43, T=38.86] ≈ 1.23 (lifetimes: 1.2259)
        let m = cdnow();
        let e = m.expected_purchases(39.0, 2.0, 30.43, 38.86).unwrap();
        assert!((e - 1.226).abs() < 2e-3, "{e}");
        assert!((m.expected_purchases_new(39.0).unwrap() - 1.195).abs() < 2e-3);
        assert_eq!(m.prob_alive(0.0, 0.0, 10.0).unwrap(), 1.0);
        assert_eq!(m.expected_purchases(0.0, 3.0, 2.0, 5.0).unwrap(), 0.0);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(BgNbd::new(0.0, 1.0, 1.0, 1.0).is_err());
        assert!(BgNbd::new(1.0, f64::NAN, 1.0, 1.0).is_err());
        let m = cdnow();
        assert!(m.expected_purchases(-1.0, 1.0, 1.0, 2.0).is_err());
        assert!(m.expected_purchases(1.0, 1.0, 3.0, 2.0).is_err());
        assert!(m.prob_alive(1.5, 1.0, 2.0).is_err());
        assert!(matches!(BgNbd::fit(&[]), Err(StatsError::TooFew { .. })));
        let zeros: Vec<CustomerSummary> = (0..5)
            .map(|i| CustomerSummary {
                customer: i,
                frequency: 0,
                recency: 0.0,
                age: 10.0,
                monetary: 0.0,
                total_value: 1.0,
                first_day: 0,
            })
            .collect();
        assert!(matches!(BgNbd::fit(&zeros), Err(StatsError::Degenerate(_))));
        let small = BgNbd::new(0.5, 5.0, 0.2, 0.3).unwrap();
        assert!(matches!(
            small.expected_purchases_new(5.0),
            Err(StatsError::Numerical { .. })
        ));
    }
}
