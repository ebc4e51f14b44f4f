//! CDNOW, the data set of the BG/NBD literature, read from `CDNOW_master.txt` (all 23,570
//! customers): BG/NBD calibrated to 1997-09-30 against the lifetimes values of the data
//! set's README, in days and in weeks, and the backtest of every forecast candidate
//! (calibration to 1997-09-30, holdout to 1998-06-30, every customer as the group).

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use insiders_stats::clv::{BgNbd, Candidate, Event, compare_candidates, summarise};

/// 1997-09-30 and 1998-06-30 as days since 1970-01-01.
const CUTOFF: i64 = 10_134;
const END: i64 = 10_407;

fn events() -> Option<Vec<Event>> {
    let d = insiders_datasets::require(insiders_datasets::CDNOW)?;
    let p = insiders_datasets::cdnow::read(&d.files[0].path).unwrap();
    Some(
        p.rows
            .iter()
            .map(|r| Event {
                customer: r.customer_id,
                day: r.day,
                value: r.amount,
            })
            .collect(),
    )
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// The week (Monday to Sunday, pandas' `W` periods) of a day since 1970-01-01 (a Thursday).
fn week(day: i64) -> i64 {
    (day + 3).div_euclid(7)
}

#[test]
fn bgnbd_on_cdnow_matches_the_readme() {
    let Some(ev) = events() else { return };
    let days = insiders_datasets::cdnow::parse(
        std::path::Path::new("dates"),
        b"1 19970930 1 1.0\n1 19980630 1 1.0\n",
    )
    .unwrap();
    assert_eq!((days.rows[0].day, days.rows[1].day), (CUTOFF, END));
    // days: repeat purchase days, several purchases on one day count once
    let s = summarise(&ev, CUTOFF).unwrap();
    assert_eq!(s.len(), 23_570);
    let fit = BgNbd::fit(&s).unwrap().model;
    let got = [fit.r, fit.alpha, fit.a, fit.b];
    println!("days: {got:?}");
    for (g, want) in got.iter().zip([0.2516, 33.5226, 0.7234, 2.1611]) {
        assert!(rel(*g, want) < 1e-3, "days: {got:?}");
    }
    // weeks: the purchases up to the cut-off in lifetimes' freq="W" periods (Monday to
    // Sunday); several purchases in one week count once, recency and age in whole weeks
    let weekly: Vec<Event> = ev
        .iter()
        .filter(|e| e.day <= CUTOFF)
        .map(|e| Event {
            day: week(e.day),
            ..*e
        })
        .collect();
    let s = summarise(&weekly, week(CUTOFF)).unwrap();
    let fit = BgNbd::fit(&s).unwrap().model;
    let got = [fit.r, fit.alpha, fit.a, fit.b];
    println!("weeks: {got:?}");
    for (g, want) in got.iter().zip([0.2843, 6.7245, 0.7077, 2.3723]) {
        assert!(rel(*g, want) < 1e-3, "weeks: {got:?}");
    }
}

#[test]
fn candidates_backtest_on_cdnow() {
    let Some(ev) = events() else { return };
    let everyone: Vec<u32> = ev
        .iter()
        .map(|e| e.customer)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let c = compare_candidates(&ev, CUTOFF, END, &everyone).unwrap();
    println!(
        "chosen: {}; actual holdout revenue {:.2}",
        c.chosen.name(),
        c.group_actual
    );
    println!("profile: {:?}", c.profile.multipliers);
    for s in &c.candidates {
        match &s.group {
            Some(g) => println!(
                "{:28} total {:>12.0} error {:+7.2}% MAE {:8.2}{}",
                s.candidate.name(),
                g.predicted_total,
                100.0 * g.error / c.group_actual,
                g.mae,
                if s.chosen { "  (chosen)" } else { "" }
            ),
            None => println!(
                "{:28} not applicable: {}",
                s.candidate.name(),
                s.not_applicable.as_deref().unwrap_or("")
            ),
        }
    }
    // independent references: the actual holdout revenue and the run rate, from the lines
    let mut first: BTreeMap<u32, i64> = BTreeMap::new();
    let (mut cal, mut hold) = (BTreeMap::<u32, f64>::new(), 0.0);
    for e in &ev {
        if e.day <= CUTOFF {
            let f = first.entry(e.customer).or_insert(e.day);
            *f = (*f).min(e.day);
            *cal.entry(e.customer).or_insert(0.0) += e.value;
        } else if e.day <= END {
            hold += e.value;
        }
    }
    assert_eq!(c.group_customers, 23_570);
    assert_eq!(c.new_customers, 0);
    assert!(rel(c.group_actual, hold) < 1e-12);
    let naive: f64 = cal
        .iter()
        .map(|(id, v)| v / ((CUTOFF - first[id] + 1) as f64) * ((END - CUTOFF) as f64))
        .sum();
    let run_rate = c.score(Candidate::RunRate).unwrap().group.unwrap();
    assert!(rel(run_rate.predicted_total, naive) < 1e-12);
    // the data start on 1997-01-01: no year before the holdout
    assert!(
        c.score(Candidate::SeasonalNaive)
            .unwrap()
            .not_applicable
            .is_some()
    );
    // the chosen forecast is no worse than the run rate on either measure, and the best of
    // those that are
    let chosen = c.score(c.chosen).unwrap().group.unwrap();
    assert!(chosen.abs_error <= run_rate.abs_error && chosen.mae <= run_rate.mae);
    for s in &c.candidates {
        if let Some(g) = s.group
            && g.abs_error <= run_rate.abs_error
            && g.mae <= run_rate.mae
        {
            assert!(chosen.abs_error <= g.abs_error, "{}", s.candidate.name());
        }
    }
}
