//! The BG/NBD at extreme parameters (against mpmath at 60 digits,
//! `datasets/fixtures/stats/make_bgnbd_extreme.py`) and the fit and forecast of short histories (one and
//! four months of the study's data), where the maximum likelihood runs to the boundary.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use insiders_fixtures::read_table;
use insiders_stats::clv::{
    BgNbd, Event, ForecastConfig, GammaGamma, backtest, forecast, summarise,
};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn expectation_probability_and_likelihood_at_extreme_parameters() {
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("bgnbd_extreme.json")).unwrap())
            .unwrap();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 16);
    for c in cases {
        let g = |k: &str| c[k].as_f64().unwrap();
        let name = c["name"].as_str().unwrap();
        let m = BgNbd::new(g("r"), g("alpha"), g("a"), g("b")).unwrap();
        let (t, x, t_x, age) = (g("t"), g("x"), g("t_x"), g("age"));
        let e = m.expected_purchases(t, x, t_x, age).unwrap();
        let p = m.prob_alive(x, t_x, age).unwrap();
        let ll = m.customer_log_likelihood(x, t_x, age).unwrap();
        let (e_want, p_want, ll_want) = (g("expected"), g("prob_alive"), g("log_likelihood"));
        println!(
            "{name}: E {e:.17e} vs {e_want:.17e} ({:.1e}); P(alive) {:.1e}; ll {:.1e}",
            rel(e, e_want),
            rel(p, p_want),
            (ll - ll_want).abs()
        );
        assert!(rel(e, e_want) < 1e-12, "{name}: E {e} vs {e_want}");
        assert!(rel(p, p_want) < 1e-13, "{name}: P(alive) {p} vs {p_want}");
        assert!(
            (ll - ll_want).abs() < 1e-12 * ll_want.abs().max(1.0),
            "{name}: ll {ll} vs {ll_want}"
        );
        if x == 0.0 && age == 0.0 {
            let en = m.expected_purchases_new(t).unwrap();
            assert!(rel(en, e_want) < 1e-12, "{name}: E new {en} vs {e_want}");
        }
    }
}

#[test]
fn expectation_is_continuous_into_the_limits() {
    // a, b -> inf with a/(a+b) = 0.2: constant dropout probability 0.2, where the expectation
    // is (1 - (1 + 0.2 u)^-(r+x)) / 0.2 (derived from E[(1 - (1+pu)^-s)/p] at p = 0.2)
    let (r, alpha, t, x, age): (f64, f64, f64, f64, f64) = (0.5, 20.0, 30.0, 3.0, 25.0);
    let u = t / (alpha + age);
    let limit = (1.0 - (1.0 + 0.2 * u).powf(-(r + x))) / 0.2;
    let mut prev = f64::INFINITY;
    for k in [1e2, 1e4, 1e6, 1e8] {
        let m = BgNbd::new(r, alpha, 0.2 * k, 0.8 * k).unwrap();
        let alive = m.expected_purchases(t, x, 0.0, age).unwrap()
            * (1.0 + 0.2 * k / (0.8 * k + x - 1.0) * ((alpha + age) / alpha).powf(r + x));
        let d = rel(alive, limit);
        assert!(d < prev || d < 1e-12, "k = {k}: {d} after {prev}");
        prev = d;
    }
    assert!(prev < 1e-7, "{prev}");
    // a -> 0: no dropout, the NBD expectation (r+x) t/(alpha+T)
    let m = BgNbd::new(r, alpha, 1e-12, 2.0).unwrap();
    let e = m.expected_purchases(t, x, 20.0, age).unwrap();
    let p = m.prob_alive(x, 20.0, age).unwrap();
    assert!(rel(e / p, (r + x) * u) < 1e-10, "{e} {p}");
}

fn events() -> Vec<Event> {
    let t = read_table(&data("clv_events.csv.gz"));
    let day = t.column("day");
    let value = t.column("value");
    t.ids
        .iter()
        .enumerate()
        .map(|(i, &c)| Event {
            customer: c as u32,
            day: day[i] as i64,
            value: value[i],
        })
        .collect()
}

#[test]
fn short_histories_fit_and_forecast() {
    let ev = events();
    // the data start on 2010-12-01; 14974 = 2010-12-31 (one month), 15064 = 2011-03-31
    for (end_day, months) in [(14974i64, 1usize), (15064, 4)] {
        let s = summarise(&ev, end_day).unwrap();
        let fit = BgNbd::fit(&s).unwrap();
        let gg = GammaGamma::fit(&s).unwrap();
        println!(
            "{months} month(s): {} customers, BG/NBD {:?} ll {} at bound {:?}; Gamma-Gamma {:?}",
            s.len(),
            fit.model,
            fit.log_likelihood,
            fit.at_bound,
            gg.model
        );
        assert!(fit.log_likelihood.is_finite());
        // the fit is reproducible
        assert_eq!(BgNbd::fit(&s).unwrap(), fit);
        // the bounded fit is a maximum: no point of a coarse grid around it does better
        let base = fit.model;
        for (dr, da) in [(1.1, 1.0), (0.9, 1.0), (1.0, 1.1), (1.0, 0.9)] {
            let m = BgNbd::new(base.r * dr, base.alpha * dr, base.a * da, base.b).unwrap();
            assert!(m.log_likelihood(&s).unwrap() <= fit.log_likelihood + 1e-9);
        }
        let config = ForecastConfig {
            simulations: 200,
            ..ForecastConfig::months(3, 7)
        };
        let f = forecast(&ev, end_day, None, &config).unwrap();
        assert!(f.total.expected.is_finite() && f.total.expected > 0.0);
        assert!(f.total.low <= f.total.high);
        for c in &f.customers {
            assert!(c.expected_purchases.is_finite() && c.expected_purchases >= 0.0);
            assert!((0.0..=1.0).contains(&c.prob_alive));
        }
        // every customer's expectation over a year, new customers included
        for c in &s {
            let e = base
                .expected_purchases(365.0, f64::from(c.frequency), c.recency, c.age)
                .unwrap();
            assert!(e.is_finite() && e >= 0.0);
        }
        assert!(base.expected_purchases_new(365.0).unwrap().is_finite());
        if months == 4 {
            let b = backtest(&ev, end_day - 30, end_day, None).unwrap();
            assert!(b.everyone.model.predicted_total.is_finite());
        }
    }
}
