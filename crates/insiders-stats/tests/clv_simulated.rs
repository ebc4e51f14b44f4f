//! The CLV models on events simulated from a known BG/NBD + Gamma-Gamma process: the fits
//! recover the parameters, the backtest's model beats the run-rate baseline, and the forecast
//! (with parameter uncertainty, proper here) is identical for 1 and 2 threads.

#![allow(clippy::unwrap_used)]

use insiders_core::Rng;
use insiders_stats::clv::{
    BgNbd, Event, ForecastConfig, GammaGamma, Models, backtest, forecast, summarise,
};

fn gamma(rng: &mut Rng, shape: f64, rate: f64) -> f64 {
    if shape < 1.0 {
        let u = 1.0 - rng.uniform();
        return gamma(rng, shape + 1.0, rate) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let z = rng.normal();
        let v = (1.0 + c * z).powi(3);
        if v > 0.0 && (1.0 - rng.uniform()).ln() < 0.5 * z * z + d - d * v + d * v.ln() {
            return d * v / rate;
        }
    }
}

/// 4,000 customers, first purchase on days 0..200, observed to day 400 (continuous times,
/// floored to days). True values: r = 0.6, alpha = 12, a = 0.8, b = 3; p = 4, q = 3, v = 60.
fn simulate(seed: u64) -> Vec<Event> {
    simulate_n(seed, 4000)
}

/// [`simulate`] with `n` customers.
fn simulate_n(seed: u64, n: u32) -> Vec<Event> {
    let mut rng = Rng::new(seed);
    let mut events = Vec::new();
    for c in 0..n {
        let first = rng.uniform() * 200.0;
        let lambda = gamma(&mut rng, 0.6, 12.0);
        let x = gamma(&mut rng, 0.8, 1.0);
        let p = x / (x + gamma(&mut rng, 3.0, 1.0));
        let nu = gamma(&mut rng, 3.0, 60.0);
        let mut t = first;
        loop {
            events.push(Event {
                customer: c,
                day: t.floor() as i64,
                value: gamma(&mut rng, 4.0, nu),
            });
            if t > first && rng.uniform() < p {
                break;
            }
            t += -(1.0 - rng.uniform()).ln() / lambda;
            if t >= 401.0 {
                break;
            }
        }
    }
    events
}

#[test]
fn fits_recover_the_simulated_parameters() {
    let ev = simulate(2024);
    let s = summarise(&ev, 400).unwrap();
    let bg = BgNbd::fit(&s).unwrap().model;
    let gg = GammaGamma::fit(&s).unwrap().model;
    println!("{bg:?} {gg:?}");
    for (got, want, tol) in [
        (bg.r, 0.6, 0.25),
        (bg.alpha, 12.0, 0.3),
        (bg.a, 0.8, 0.5),
        (bg.b, 3.0, 0.5),
        (gg.p, 4.0, 0.3),
        (gg.q, 3.0, 0.3),
        (gg.v, 60.0, 0.4),
    ] {
        assert!((got / want).ln().abs() < tol, "{got} vs {want}");
    }
}

/// Above `FIT_SAMPLE_MAX` customers the fits see a systematic sample of them, say so, and
/// still recover the process. The tolerances are about half those of the 4,000-customer
/// test; alpha's is wider, as purchases on one day merge into one (days are whole), which
/// lowers the purchase rate r / alpha the data show by about 8% whatever the sample size.
#[test]
fn large_bases_are_fitted_on_a_sample_that_recovers_the_parameters() {
    use insiders_stats::clv::FIT_SAMPLE_MAX;
    let ev = simulate_n(99, 100_000);
    let s = summarise(&ev, 400).unwrap();
    let bg = BgNbd::fit(&s).unwrap();
    let gg = GammaGamma::fit(&s).unwrap();
    assert_eq!((bg.n_customers, bg.n_fitted), (100_000, FIT_SAMPLE_MAX));
    assert!(gg.n_customers > FIT_SAMPLE_MAX, "{}", gg.n_customers);
    assert_eq!(gg.n_fitted, FIT_SAMPLE_MAX);
    let (bg, gg) = (bg.model, gg.model);
    for (got, want, tol) in [
        (bg.r, 0.6, 0.1),
        (bg.alpha, 12.0, 0.2),
        (bg.a, 0.8, 0.15),
        (bg.b, 3.0, 0.15),
        (gg.p, 4.0, 0.1),
        (gg.q, 3.0, 0.1),
        (gg.v, 60.0, 0.15),
    ] {
        assert!((got / want).ln().abs() < tol, "{got} vs {want}");
    }
    // Below the size, everyone is fitted.
    let small = BgNbd::fit(&s[..1000]).unwrap();
    assert_eq!((small.n_customers, small.n_fitted), (1000, 1000));
}

#[test]
fn backtest_and_forecast_on_simulated_events() {
    let ev = simulate(7);
    let bt = backtest(&ev, 300, 400, None).unwrap();
    println!(
        "actual {:.0} model {:.0} baseline {:.0}; MAE {:.2} vs {:.2}",
        bt.everyone.actual_total,
        bt.everyone.model.predicted_total,
        bt.everyone.baseline.predicted_total,
        bt.everyone.model.mae,
        bt.everyone.baseline.mae
    );
    // a well-specified model predicts the total within 10% and beats the run rate
    assert!(bt.everyone.model.rel_error < 0.1);
    assert!(bt.everyone.model.mae < bt.everyone.baseline.mae);
    assert!(bt.group.is_none());

    let group: Vec<u32> = (0..4000).step_by(4).collect();
    let mut cfg = ForecastConfig::months(2, 9);
    cfg.simulations = 200;
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| forecast(&ev, 400, Some(&group), &cfg).unwrap())
    };
    let (f1, f2) = (run(1), run(2));
    assert_eq!(f1, f2);
    assert!(f1.parameter_uncertainty_used);
    assert_eq!(f1.n_customers, 1000);
    println!("{:?}", f1.total);
    assert!(f1.total.low < f1.total.expected && f1.total.expected < f1.total.high);
    // fitted once, forecast per group: the same result as the one-call forecast
    let models = Models::fit(&ev, 400).unwrap();
    assert_eq!(models.forecast(Some(&group), &cfg).unwrap(), f1);
    let all = models.forecast(None, &cfg).unwrap();
    assert_eq!(all, forecast(&ev, 400, None, &cfg).unwrap());
    assert!(all.total.expected > f1.total.expected * 3.0);
    assert!(
        models
            .forecast(
                None,
                &ForecastConfig {
                    level: 2.0,
                    ..cfg.clone()
                }
            )
            .is_err()
    );
    // bad configuration
    let mut bad = cfg.clone();
    bad.level = 1.5;
    assert!(forecast(&ev, 400, None, &bad).is_err());
    bad = cfg.clone();
    bad.period_days = vec![];
    assert!(forecast(&ev, 400, None, &bad).is_err());
}
