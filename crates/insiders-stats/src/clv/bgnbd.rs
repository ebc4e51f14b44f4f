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
use crate::special::{ln_gamma_ratio, log_add_exp};

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
    /// The maximised log-likelihood, summed over the customers fitted.
    pub log_likelihood: f64,
    /// Number of customers given.
    pub n_customers: usize,
    /// Number of customers the likelihood was maximised on: `n_customers`, or
    /// [`super::FIT_SAMPLE_MAX`] above it ([`super::fit_sample`]).
    pub n_fitted: usize,
    /// Likelihood evaluations used by the optimiser.
    pub evaluations: usize,
    /// The parameters that sit at a bound of [`BgNbd::FIT_BOUNDS`] (empty for an interior
    /// optimum). A parameter at a bound means the likelihood keeps increasing towards a limit
    /// model (see [`BgNbd::fit`]); the predictions are those of the bounded model.
    pub at_bound: Vec<AtBound>,
}

/// A fitted parameter that sits at a bound of the maximum-likelihood search.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AtBound {
    /// The parameter's name: `"r"`, `"alpha"`, `"a"`, `"b"` (BG/NBD) or `"p"`, `"q"`, `"v"`
    /// (Gamma-Gamma).
    pub parameter: &'static str,
    /// The bound (equal to the fitted value).
    pub bound: f64,
    /// Whether it is the lower bound (else the upper).
    pub lower: bool,
}

/// The fit's data, grouped so that each transcendental function is evaluated once per
/// distinct value: `ln Γ` once per distinct `x`, `ln(α + T)` once per distinct age and
/// `ln(α + t_x)` once per distinct recency (ages and recencies are whole days in practice).
/// A distinct repeat summary: (index of x, x, index of age, index of recency, count).
type Grouped = (usize, f64, usize, usize, f64);

struct Data {
    xs: Vec<f64>,
    ages: Vec<f64>,
    recencies: Vec<f64>,
    /// Customers with `x = 0`: index of their age.
    zero_age: Vec<usize>,
    /// Customers with `x > 0`: (index of x, x, index of age, index of recency).
    repeat: Vec<(usize, f64, usize, usize)>,
    /// Above [`super::SEQUENTIAL_SUM_MAX`] repeat customers: the distinct `repeat` entries
    /// with their counts (the likelihood's cost then grows with the distinct summaries).
    grouped: Option<Vec<Grouped>>,
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
        // Above SEQUENTIAL_SUM_MAX repeat customers, customers of equal (x, T, t_x) share one
        // term, weighted by their count (sorted: the sum does not depend on the input order).
        let grouped = (repeat.len() > super::SEQUENTIAL_SUM_MAX).then(|| {
            let mut keys: Vec<(usize, usize, usize)> =
                repeat.iter().map(|&(g, _, ia, ir)| (g, ia, ir)).collect();
            keys.sort_unstable();
            let mut out: Vec<Grouped> = Vec::new();
            for k in keys {
                match out.last_mut() {
                    Some(last) if (last.0, last.2, last.3) == k => last.4 += 1.0,
                    _ => out.push((k.0, xs[k.0], k.1, k.2, 1.0)),
                }
            }
            out
        });
        Data {
            xs,
            ages,
            recencies,
            zero_age,
            repeat,
            grouped,
        }
    }

    /// The summed log-likelihood (sequential sum: deterministic).
    ///
    /// Written so that no term cancels at extreme parameters: `ln[B(a, b+x)/B(a, b)] =
    /// -Σ_{j<x} ln(1 + a/(b+j))` (exact for `a → 0`, `b → ∞`), `α^r/(α+T)^(r+x) =
    /// exp(-r ln(1 + T/α) - x ln(α+T))` (exact for `r, α → ∞`), and `ln Γ(r+x) - ln Γ(r)` by
    /// [`ln_gamma_ratio`] (a difference of Stirling series when `r` is large).
    fn log_likelihood(&self, m: &BgNbd) -> f64 {
        let BgNbd { r, alpha, a, b } = *m;
        // c12[g] = ln Γ(r+x)/Γ(r) + ln B(a, b+x)/B(a, b); c4[g] = ln a - ln(b+x-1)
        let mut c12 = Vec::with_capacity(self.xs.len());
        let mut c4 = Vec::with_capacity(self.xs.len());
        let (mut j, mut sum_b) = (0.0f64, 0.0f64);
        for &x in &self.xs {
            while j < x {
                sum_b -= (a / (b + j)).ln_1p();
                j += 1.0;
            }
            c12.push(ln_gamma_ratio(r, x) + sum_b);
            c4.push(if x > 0.0 {
                a.ln() - (b + x - 1.0).ln()
            } else {
                f64::NEG_INFINITY
            });
        }
        // ln[α^r / (α+t)^(r+x)] = -r ln1p(t/α) - x ln(α+t)
        let logs = |v: &[f64]| -> Vec<(f64, f64)> {
            v.iter()
                .map(|&t| ((t / alpha).ln_1p(), (alpha + t).ln()))
                .collect()
        };
        let ln_age = logs(&self.ages);
        let ln_rec = logs(&self.recencies);
        let mut sum = 0.0;
        if !self.zero_age.is_empty() {
            // x = 0: c12(0) = 0, the term is -r ln1p(T/α)
            let mut s0 = 0.0;
            for &ia in &self.zero_age {
                s0 += ln_age[ia].0;
            }
            sum -= r * s0;
        }
        let term = |&(g, x, ia, ir): &(usize, f64, usize, usize)| {
            let a3 = -r * ln_age[ia].0 - x * ln_age[ia].1;
            let a4 = c4[g] - r * ln_rec[ir].0 - x * ln_rec[ir].1;
            c12[g] + log_add_exp(a3, a4)
        };
        match &self.grouped {
            None => {
                for t in &self.repeat {
                    sum += term(t);
                }
                sum
            }
            Some(grouped) => {
                sum + super::chunked_sum(grouped, |&(g, x, ia, ir, w)| w * term(&(g, x, ia, ir)))
            }
        }
    }
}

/// The log-parameters `z` within `1e-6` (relative) of a bound of `bounds`.
pub(crate) fn bounds_hit(z: &[f64], bounds: &[(&'static str, f64, f64)]) -> Vec<AtBound> {
    let mut at_bound = Vec::new();
    for (zi, &(parameter, lo, hi)) in z.iter().zip(bounds) {
        if *zi <= lo.ln() + 1e-6 {
            at_bound.push(AtBound {
                parameter,
                bound: lo,
                lower: true,
            });
        } else if *zi >= hi.ln() - 1e-6 {
            at_bound.push(AtBound {
                parameter,
                bound: hi,
                lower: false,
            });
        }
    }
    at_bound
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

    /// The box of the maximum-likelihood search: `(name, lower, upper)` for `r`, `α` (in the
    /// time unit of the data, days for [`super::summarise`]), `a` and `b`.
    ///
    /// The likelihood of short histories often increases without limit towards a limit model:
    /// `a → 0` or `b → ∞` (no dropout: the NBD), `a, b → ∞` with `a/(a+b)` fixed (the same
    /// dropout probability for everyone), `r, α → ∞` with `r/α` fixed (the same purchase rate
    /// for everyone). The bounds stop the search at models indistinguishable from those limits
    /// (a Beta or Gamma with shape `1e8` has a coefficient of variation of `1e-4`; `a = 1e-8`
    /// gives a dropout probability below `1e-6` with probability `1 - 1e-7`); the lower bound of
    /// `α` (0.01) keeps every expectation computable in a bounded number of terms (see
    /// [`BgNbd::expected_purchases`]).
    pub const FIT_BOUNDS: [(&'static str, f64, f64); 4] = [
        ("r", 1e-8, 1e8),
        ("alpha", 1e-2, 1e10),
        ("a", 1e-8, 1e8),
        ("b", 1e-8, 1e8),
    ];

    /// Fits the model by maximum likelihood.
    ///
    /// The log-parameters are optimised by Nelder-Mead from four fixed starts (scaled to the
    /// customers' ages), each restarted from its own optimum until the mean log-likelihood
    /// improves by less than 1e-12; the starts run in parallel and the best (earliest on ties)
    /// wins, so the fit is deterministic. The search is confined to [`BgNbd::FIT_BOUNDS`]: the
    /// objective at a point outside the box is the objective at the nearest point of the box,
    /// so a maximum beyond a bound is returned exactly at the bound, and
    /// [`BgNbdFit::at_bound`] lists the parameters that sit there.
    ///
    /// When the data show no sign of dropout the maximum lies on the boundary `a → 0` or
    /// `b → ∞` (the model tends to the NBD); the fit then stops at a bound on that ridge, where
    /// `a` and `b` are individually unidentified but the likelihood and the predictions are
    /// not. Short histories (a month or two) typically end there, or at `a, b → ∞` (a common
    /// dropout probability).
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
        let all = customers;
        let sample = super::fit_sample(all);
        let customers: &[CustomerSummary] = &sample;
        let data = Data::new(customers);
        let n = customers.len() as f64;
        let max_age = customers.iter().map(|c| c.age).fold(0.0f64, f64::max);
        let scale = if max_age > 0.0 { max_age / 10.0 } else { 1.0 };
        let bounds = Self::FIT_BOUNDS.map(|(_, lo, hi)| (lo.ln(), hi.ln()));
        let clamp = |z: &[f64]| -> [f64; 4] {
            let mut c = [0.0; 4];
            for (ci, (zi, (lo, hi))) in c.iter_mut().zip(z.iter().zip(bounds)) {
                *ci = zi.clamp(lo, hi);
            }
            c
        };
        let starts: Vec<Vec<f64>> = [
            [1.0f64, 1.0, 1.0, 1.0],
            [0.5, 2.0, 0.5, 2.0],
            [0.2, 0.5, 1.0, 5.0],
            [2.0, 5.0, 0.2, 0.5],
        ]
        .iter()
        .map(|s| clamp(&[s[0].ln(), (s[1] * scale).ln(), s[2].ln(), s[3].ln()]).to_vec())
        .collect();
        let objective = |z: &[f64]| -> f64 {
            let c = clamp(z);
            let m = BgNbd {
                r: c[0].exp(),
                alpha: c[1].exp(),
                a: c[2].exp(),
                b: c[3].exp(),
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
        let z = clamp(&best.x);
        let model = BgNbd::new(z[0].exp(), z[1].exp(), z[2].exp(), z[3].exp())?;
        let at_bound = bounds_hit(&z, &Self::FIT_BOUNDS);
        Ok(BgNbdFit {
            log_likelihood: data.log_likelihood(&model),
            model,
            n_customers: all.len(),
            n_fitted: customers.len(),
            evaluations,
            at_bound,
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
        (a.ln() - (b + x - 1.0).ln() + (r + x) * ((age - t_x) / (alpha + t_x)).ln_1p()).exp()
    }

    /// The expected number of purchases in the next `t` days of a customer with history
    /// `(x, t_x, T = age)` (Fader, Hardie & Lee 2005, eq. 10):
    ///
    /// `E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) ·
    /// ₂F₁(r+x, b+x; a+b+x-1; t/(α+T+t))] / (1 + [x > 0] · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x))`.
    ///
    /// The numerator (the expectation given alive at `T`) is evaluated as the equivalent sum
    /// `Σ_{k≥0} P(N > k) · E[(1-p)^k]` of positive terms, where `N ~ NegBin(r+x, t/(α+T+t))`
    /// counts the purchases in the next `t` days without dropout and `E[(1-p)^k] =
    /// (b+x)_k/(a+b+x)_k` is the chance to survive `k` dropout draws. It holds for every
    /// `a, b > 0` (also `a ≤ 1` and `a + b + x ≤ 1`, where the closed form's ₂F₁ is singular but
    /// the expectation is finite), has no cancellation, and needs a number of terms that does
    /// not depend on `a` and `b`: about `(r+x)·u + 40·(1+u)` with `u = t/(α+T)`.
    ///
    /// # Errors
    /// As [`BgNbd::customer_log_likelihood`], plus [`StatsError::Param`] for `t < 0` or
    /// non-finite, and [`StatsError::Numerical`] if the sum needs more than 50 million terms
    /// (`t/(α+T)` above about 10⁶, impossible for fitted models and horizons up to 10 years).
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
    /// `E[X(t)] = (a+b-1)/(a-1) · [1 - (α/(α+t))^r · ₂F₁(r, b; a+b-1; t/(α+t))]`, evaluated as
    /// in [`BgNbd::expected_purchases`].
    ///
    /// # Errors
    /// [`StatsError::Param`] for a negative or non-finite `t`; [`StatsError::Numerical`] as in
    /// [`BgNbd::expected_purchases`].
    pub fn expected_purchases_new(&self, t: f64) -> Result<f64, StatsError> {
        if !(t.is_finite() && t >= 0.0) {
            return Err(StatsError::param(
                "t",
                format!("must be finite and >= 0, got {t}"),
            ));
        }
        self.alive_expectation(t, 0.0, 0.0)
    }

    /// The expected purchases in `(T, T+t]` given alive at `T`:
    /// `E[(1 - (1 + p u)^(-s)) / p]` with `s = r+x`, `u = t/(α+T)`, `p ~ Beta(a, b+x)`.
    ///
    /// Given the rate `λ` and the dropout probability `p`, the number of purchases is
    /// `min(N, G)` with `N ~ Poisson(λ t)` the purchases without dropout and `P(G > k) =
    /// (1-p)^k`; so the expectation is `Σ_k P(N > k) E[(1-p)^k] = Σ_n P(N = n) M_n` with
    /// `M_n = Σ_{k<n} (b+x)_k/(a+b+x)_k`, `N ~ NegBin(s, y = u/(1+u))` after mixing over
    /// `λ ~ Gamma(s, α+T)`. Every term is positive. The negative-binomial weights are built by
    /// their ratio `(s+n) y/(n+1)` from an unnormalised start and rescaled when large, then
    /// normalised by their sum, so neither `(1-y)^s` underflowing nor a mode far from 0 is a
    /// problem. The sum stops when a geometric bound on the rest is below `1e-17` of it.
    fn alive_expectation(&self, t: f64, x: f64, age: f64) -> Result<f64, StatsError> {
        const MAX_TERMS: usize = 50_000_000;
        if t == 0.0 {
            return Ok(0.0);
        }
        let BgNbd { r, alpha, a, b } = *self;
        let s = r + x;
        let bb = b + x;
        let u = t / (alpha + age);
        let y = u / (1.0 + u);
        if !(u.is_finite() && y < 1.0) {
            return Err(StatsError::numerical(
                "BG/NBD expectation",
                format!("t/(α+T) = {u} is too large to evaluate"),
            ));
        }
        // mode of N: the weights grow until then
        let mode = if s > 1.0 {
            ((s - 1.0) * u).floor()
        } else {
            0.0
        };
        // w: unnormalised P(N = n); m = (b+x)_n/(a+b+x)_n; big_m = M_n
        let (mut w, mut m, mut big_m) = (1.0f64, 1.0f64, 0.0f64);
        let (mut total_w, mut acc) = (0.0f64, 0.0f64);
        let mut n = 0.0f64;
        for _ in 0..MAX_TERMS {
            total_w += w;
            acc += w * big_m;
            big_m += m;
            m *= (bb + n) / (a + bb + n);
            let ratio = (s + n) * y / (n + 1.0);
            w *= ratio;
            n += 1.0;
            if w > 1e200 {
                w *= 1e-200;
                total_w *= 1e-200;
                acc *= 1e-200;
            }
            if n > mode {
                // beyond the mode every later ratio is at most rho < 1, and M grows by at
                // most m per term: the rest is below w (M/(1-rho) + m rho/(1-rho)^2)
                let rho = ((s + n) * y / (n + 1.0)).max(y);
                let rest = w * (big_m / (1.0 - rho) + m * rho / ((1.0 - rho) * (1.0 - rho)));
                if w == 0.0 || rest <= 1e-17 * acc {
                    let e = acc / total_w;
                    return if e.is_finite() {
                        Ok(e)
                    } else {
                        Err(StatsError::numerical(
                            "BG/NBD expectation",
                            format!("non-finite sum (t/(α+T) = {u}, r + x = {s})"),
                        ))
                    };
                }
            }
        }
        Err(StatsError::numerical(
            "BG/NBD expectation",
            format!(
                "the sum needs more than {MAX_TERMS} terms (t/(α+T) = {u}, r + x = {s}): the \
                 horizon is too long for this purchase-rate distribution"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
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
    fn large_bases_sum_grouped_summaries_to_the_same_likelihood() {
        // 150,000 customers (above SEQUENTIAL_SUM_MAX repeat customers): the grouped,
        // chunked sum against a plain per-customer sum of the public per-customer terms.
        let mut rng = insiders_core::Rng::new(3);
        let customers: Vec<CustomerSummary> = (0..150_000u32)
            .map(|i| {
                let age = 1.0 + rng.below(300) as f64;
                let x = if i % 10 == 0 {
                    0
                } else {
                    1 + rng.below(20) as u32
                };
                let t_x = if x == 0 {
                    0.0
                } else {
                    (rng.uniform() * age).floor()
                };
                CustomerSummary {
                    customer: i,
                    frequency: x,
                    recency: t_x,
                    age,
                    monetary: 0.0,
                    total_value: 0.0,
                    first_day: 0,
                }
            })
            .collect();
        let data = Data::new(&customers);
        let grouped = data.grouped.as_ref().unwrap();
        assert!(grouped.len() < 135_000, "{} groups", grouped.len());
        let m = cdnow();
        let mut plain = 0.0;
        for c in &customers {
            plain += m
                .customer_log_likelihood(f64::from(c.frequency), c.recency, c.age)
                .unwrap();
        }
        let got = data.log_likelihood(&m);
        assert!(((got - plain) / plain).abs() < 1e-10, "{got} vs {plain}");
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
        // a horizon beyond reach of the sum is a typed error, never a hang or a wrong value
        let tiny_alpha = BgNbd::new(0.5, 1e-300, 0.2, 0.3).unwrap();
        assert!(matches!(
            tiny_alpha.expected_purchases_new(5.0),
            Err(StatsError::Numerical { .. })
        ));
        let far = BgNbd::new(2.0, 1e-2, 0.2, 0.3).unwrap();
        assert!(matches!(
            far.expected_purchases_new(1e7),
            Err(StatsError::Numerical { .. })
        ));
    }
}
