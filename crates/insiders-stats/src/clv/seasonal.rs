//! A month-of-year profile of the repeat-purchase rate, estimated from the calibration
//! period, and the "seasonal time" it defines: the seasonal candidates of the forecast run
//! the stationary models on that clock (a busy month lasts longer than a quiet one).
//!
//! Days are day numbers since 1970-01-01 (as `insiders_ingest::date`), so that each day has
//! a calendar month. Day `d` covers the interval `(d - 1, d]` of the real line: the integral
//! of the profile from day `a` to day `b` is the sum of the multipliers of days `a+1 ..= b`.

use super::{CustomerSummary, Event};
use crate::StatsError;

/// A month counts as seen when its exposure would hold at least this many repeat purchase
/// days at the calibration's average rate; other months get the multiplier 1.
pub const MIN_EXPECTED_REPEATS: f64 = 30.0;

/// The smallest multiplier: keeps the seasonal clock strictly increasing (a month without a
/// single repeat purchase would otherwise stop it).
pub const MIN_MULTIPLIER: f64 = 0.01;

/// The repeat-purchase rate of each calendar month relative to the calibration's average.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SeasonalProfile {
    /// Multiplier of each calendar month, January first: the month's repeat purchase days
    /// per customer-day of exposure over the calibration's average rate (1 for months not
    /// seen).
    pub multipliers: [f64; 12],
    /// Whether each month was seen (see [`MIN_EXPECTED_REPEATS`]).
    pub seen: [bool; 12],
    /// Customer-days of exposure in each month: days after a customer's first purchase day,
    /// up to the end day.
    pub exposure_days: [f64; 12],
    /// Repeat purchase days (a customer's purchase days after the first) in each month.
    pub repeat_purchases: [u64; 12],
    /// The calibration's average rate: repeat purchase days per customer-day.
    pub average_rate: f64,
}

/// The civil date `(year, month 1..=12, day 1..=31)` of a day number since 1970-01-01.
pub(crate) fn civil_from_days(day: i64) -> (i64, u32, u32) {
    // Eras of 400 years (146,097 days) starting on 0000-03-01.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146_096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // year of era
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the year from March 1st
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The day number since 1970-01-01 of a civil date (the inverse of [`civil_from_days`]).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The month (0 = January) of a day and the last day of that month.
fn month_and_last_day(day: i64) -> (usize, i64) {
    let (y, m, _) = civil_from_days(day);
    let next = if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    };
    (m as usize - 1, next - 1)
}

/// Calls `f(month, days)` for the days `from+1 ..= to` split by calendar month.
fn by_month(from: i64, to: i64, mut f: impl FnMut(usize, i64)) {
    let mut d = from + 1;
    while d <= to {
        let (m, last) = month_and_last_day(d);
        let end = last.min(to);
        f(m, end - d + 1);
        d = end + 1;
    }
}

/// The month effects `s` of the Poisson model `n_im ~ Poisson(λ_i s_m e_im)` (customer `i`'s
/// repeat purchase days `n` and exposure `e` in month `m`) by maximum likelihood, with every
/// customer's own rate `λ_i` as a free parameter: alternately `λ_i = Σ_m n_im / Σ_m s_m e_im`
/// and `s_m = Σ_i n_im / Σ_i λ_i e_im` (iterative proportional fitting), to a change below
/// 1e-12 or 1,000 rounds, scaled so that the purchase-weighted mean month is 1
/// (`Σ_m s_m Σ_i λ_i e_im = Σ_m Σ_i λ_i e_im`). Months without exposure stay at 1.
fn month_effects(customers: &[([f64; 12], [f64; 12])]) -> [f64; 12] {
    let mut s = [1.0; 12];
    let mut n_m = [0.0; 12];
    for (_, n) in customers {
        for m in 0..12 {
            n_m[m] += n[m];
        }
    }
    for _ in 0..1_000 {
        let mut weighted = [0.0; 12]; // Σ_i λ_i e_im
        for (e, n) in customers {
            let seasonal_exposure: f64 = (0..12).map(|m| s[m] * e[m]).sum();
            if seasonal_exposure > 0.0 {
                let lambda = n.iter().sum::<f64>() / seasonal_exposure;
                for m in 0..12 {
                    weighted[m] += lambda * e[m];
                }
            }
        }
        let mut next = [1.0; 12];
        for m in 0..12 {
            if weighted[m] > 0.0 {
                next[m] = n_m[m] / weighted[m];
            }
        }
        let scale =
            (0..12).map(|m| next[m] * weighted[m]).sum::<f64>() / weighted.iter().sum::<f64>();
        let mut change: f64 = 0.0;
        for m in 0..12 {
            if weighted[m] > 0.0 {
                next[m] /= scale;
            }
            change = change.max((next[m] - s[m]).abs());
        }
        s = next;
        if change < 1e-12 {
            break;
        }
    }
    s
}

impl SeasonalProfile {
    /// The flat profile (every multiplier 1): the seasonal clock is the calendar.
    pub fn flat() -> SeasonalProfile {
        SeasonalProfile {
            multipliers: [1.0; 12],
            seen: [false; 12],
            exposure_days: [0.0; 12],
            repeat_purchases: [0; 12],
            average_rate: f64::NAN,
        }
    }

    /// Estimates the profile from the events on or before `end_day`.
    ///
    /// Each customer is exposed from the day after their first purchase day to `end_day`;
    /// each later purchase day is a repeat purchase of its month. The month effects are
    /// those of a Poisson model in which every customer buys at their own rate times the
    /// month's multiplier ([`month_effects`]: each customer is compared with themselves, so
    /// a month is not high merely because frequent buyers were the ones exposed in it),
    /// pooled over years when the calibration spans more than one, scaled so that the
    /// purchase-weighted mean month is 1, and floored at [`MIN_MULTIPLIER`]. A month whose
    /// exposure would hold fewer than [`MIN_EXPECTED_REPEATS`] repeat purchase days at the
    /// calibration's average rate is not seen (with less than a year of calibration, the
    /// months outside it): its multiplier is 1, the average, so the seasonal models are
    /// stationary there.
    ///
    /// The model has no dropout: when customers leave, the months late in the calibration
    /// look quieter than they are (CDNOW's cohort of 1997 shows it).
    ///
    /// # Errors
    /// [`StatsError::Empty`] when no event falls on or before `end_day`;
    /// [`StatsError::NonFinite`] for a NaN or infinite value.
    pub fn estimate(events: &[Event], end_day: i64) -> Result<SeasonalProfile, StatsError> {
        if let Some(index) = events.iter().position(|e| !e.value.is_finite()) {
            return Err(StatsError::NonFinite {
                what: "event values",
                index,
                value: events[index].value,
            });
        }
        let mut days: Vec<(u32, i64)> = events
            .iter()
            .filter(|e| e.day <= end_day)
            .map(|e| (e.customer, e.day))
            .collect();
        if days.is_empty() {
            return Err(StatsError::Empty {
                what: "events on or before the calibration end day",
            });
        }
        days.sort_unstable();
        days.dedup();
        let mut exposure_days = [0.0; 12];
        let mut repeat_purchases = [0u64; 12];
        // per repeat customer: exposure and repeat purchase days by month
        let mut repeaters: Vec<([f64; 12], [f64; 12])> = Vec::new();
        let mut i = 0;
        while i < days.len() {
            let (customer, first) = days[i];
            let mut e = [0.0; 12];
            by_month(first, end_day, |m, n| e[m] += n as f64);
            let mut n = [0.0; 12];
            i += 1;
            while i < days.len() && days[i].0 == customer {
                let (m, _) = month_and_last_day(days[i].1);
                n[m] += 1.0;
                repeat_purchases[m] += 1;
                i += 1;
            }
            for m in 0..12 {
                exposure_days[m] += e[m];
            }
            if n.iter().any(|&v| v > 0.0) {
                repeaters.push((e, n));
            }
        }
        let total_exposure: f64 = exposure_days.iter().sum();
        let total_repeats: u64 = repeat_purchases.iter().sum();
        let mut profile = SeasonalProfile {
            exposure_days,
            repeat_purchases,
            ..SeasonalProfile::flat()
        };
        if total_exposure <= 0.0 || total_repeats == 0 {
            // nobody came back: no rate to compare months with
            return Ok(profile);
        }
        let average_rate = total_repeats as f64 / total_exposure;
        profile.average_rate = average_rate;
        let s = month_effects(&repeaters);
        for m in 0..12 {
            if exposure_days[m] * average_rate >= MIN_EXPECTED_REPEATS {
                profile.seen[m] = true;
                profile.multipliers[m] = s[m].max(MIN_MULTIPLIER);
            }
        }
        Ok(profile)
    }

    /// The seasonal length of the days `from+1 ..= to` (0 when `to <= from`): the sum of
    /// their multipliers. With the flat profile it is `to - from`, exactly.
    pub fn days_between(&self, from: i64, to: i64) -> f64 {
        let mut total = 0.0;
        by_month(from, to, |m, n| total += n as f64 * self.multipliers[m]);
        total
    }

    /// The seasonal length of the real interval `(from, to]` (0 when `to <= from`), where
    /// day `d` covers `(d - 1, d]` at its month's multiplier: [`Self::days_between`] extended
    /// to fractional ends (forecast periods of 30.44 days).
    pub fn integral(&self, from: f64, to: f64) -> f64 {
        let mut total = 0.0;
        let mut t = from;
        while t < to {
            let day = t.floor() as i64 + 1;
            let (m, last) = month_and_last_day(day);
            let end = (last as f64).min(to);
            total += (end - t) * self.multipliers[m];
            t = end;
        }
        total
    }
}

/// A customer's summary on the seasonal clock of `profile`: recency and age become the
/// seasonal lengths of `(first day, last purchase day]` and `(first day, end_day]`.
pub(crate) fn seasonal_summary(
    s: &CustomerSummary,
    profile: &SeasonalProfile,
    end_day: i64,
) -> CustomerSummary {
    let last = s.first_day + s.recency as i64;
    CustomerSummary {
        recency: profile.days_between(s.first_day, last),
        age: profile.days_between(s.first_day, end_day),
        ..*s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_and_match_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2011, 9, 9), 15_226);
        assert_eq!(days_from_civil(1997, 1, 1), 9_862);
        assert_eq!(civil_from_days(days_from_civil(2000, 2, 29)), (2000, 2, 29));
        for d in -800_000..800_000 {
            if d % 997 == 0 || (10_000..12_000).contains(&d) {
                let (y, m, dd) = civil_from_days(d);
                assert_eq!(days_from_civil(y, m, dd), d);
            }
        }
        // month lengths, leap years included
        assert_eq!(
            month_and_last_day(days_from_civil(2012, 2, 10)).1,
            days_from_civil(2012, 2, 29)
        );
        assert_eq!(
            month_and_last_day(days_from_civil(2011, 2, 1)).1,
            days_from_civil(2011, 2, 28)
        );
        assert_eq!(
            month_and_last_day(days_from_civil(2011, 12, 31)),
            (11, days_from_civil(2011, 12, 31))
        );
    }

    #[test]
    fn the_flat_profile_is_the_calendar() {
        let p = SeasonalProfile::flat();
        assert_eq!(p.days_between(15_000, 15_091), 91.0);
        assert_eq!(p.days_between(15_091, 15_000), 0.0);
        assert_eq!(p.integral(15_000.0, 15_000.0 + 365.25 / 4.0), 365.25 / 4.0);
    }

    #[test]
    fn integral_and_days_between_count_each_days_month() {
        let mut p = SeasonalProfile::flat();
        p.multipliers[10] = 3.0; // November
        let oct31 = days_from_civil(2011, 10, 31);
        // 2011-11-01 ..= 2011-11-10 at 3, then nothing
        assert_eq!(p.days_between(oct31, oct31 + 10), 30.0);
        // 2011-10-31 (1) + November (30 x 3) + 2011-12-01 (1)
        assert_eq!(p.days_between(oct31 - 1, oct31 + 31), 92.0);
        // half of Oct 31 and half of Nov 1
        assert_eq!(
            p.integral(oct31 as f64 - 0.5, oct31 as f64 + 0.5),
            0.5 + 1.5
        );
        assert_eq!(p.integral(oct31 as f64, (oct31 + 10) as f64), 30.0);
    }

    #[test]
    fn estimate_counts_repeats_over_exposure() {
        // Customer 1 first buys on 2011-01-31 and again on 2011-02-01, 02-02 (and twice on
        // 02-02: one purchase day); customer 2 buys once on 2011-02-27. End 2011-02-28.
        let jan31 = days_from_civil(2011, 1, 31);
        let ev = |customer, day| Event {
            customer,
            day,
            value: 1.0,
        };
        let events = [
            ev(1, jan31),
            ev(1, jan31 + 1),
            ev(1, jan31 + 2),
            ev(1, jan31 + 2),
            ev(2, jan31 + 27),
        ];
        let p = SeasonalProfile::estimate(&events, jan31 + 28).unwrap();
        // exposure: customer 1: Feb 1 ..= Feb 28 (28 days); customer 2: Feb 28 (1 day)
        assert_eq!(p.exposure_days[1], 29.0);
        assert_eq!(p.exposure_days[0], 0.0);
        assert_eq!(p.repeat_purchases[1], 2);
        assert_eq!(p.average_rate, 2.0 / 29.0);
        // far too little data to call February seen
        assert!(!p.seen[1]);
        assert_eq!(p.multipliers, [1.0; 12]);
        assert!(SeasonalProfile::estimate(&events, jan31 - 1).is_err());
    }

    #[test]
    fn frequent_early_buyers_are_not_a_season() {
        // No season: 100 frequent customers (every 3rd day) from 2010-01-01 and 300
        // occasional ones (every 15th day) from 2010-07-01. Pooled over customers, the first
        // half-year would look five times as busy as the second.
        let start = days_from_civil(2010, 1, 1);
        let july = days_from_civil(2010, 7, 1);
        let end = days_from_civil(2010, 12, 31);
        let mut events = Vec::new();
        for c in 0..400u32 {
            let (first, every) = if c < 100 { (start, 3) } else { (july, 15) };
            for d in (first..=end).filter(|d| (d - first) % every == 0) {
                events.push(Event {
                    customer: c,
                    day: d,
                    value: 1.0,
                });
            }
        }
        let p = SeasonalProfile::estimate(&events, end).unwrap();
        assert!(p.seen.iter().all(|&s| s), "{:?}", p.seen);
        // months of 28..31 days hold 9..11 purchases at every 3rd day: within 15%
        for m in 0..12 {
            assert!((p.multipliers[m] - 1.0).abs() < 0.15, "{:?}", p.multipliers);
        }
        let pooled_h1 = p.repeat_purchases[..6].iter().sum::<u64>() as f64
            / p.exposure_days[..6].iter().sum::<f64>();
        let pooled_h2 = p.repeat_purchases[6..].iter().sum::<u64>() as f64
            / p.exposure_days[6..].iter().sum::<f64>();
        assert!(pooled_h1 > 1.5 * pooled_h2, "{pooled_h1} {pooled_h2}");
    }

    #[test]
    fn estimate_recovers_a_planted_season() {
        // 200 customers who first buy on 2010-01-01 and then buy every 4th day in
        // November-December and every 8th day otherwise, over two years.
        let start = days_from_civil(2010, 1, 1);
        let end = days_from_civil(2011, 12, 31);
        let mut events = Vec::new();
        for c in 0..200u32 {
            events.push(Event {
                customer: c,
                day: start,
                value: 1.0,
            });
            for d in start + 1..=end {
                let (_, m, _) = civil_from_days(d);
                let every = if m >= 11 { 4 } else { 8 };
                if (d + i64::from(c)) % every == 0 {
                    events.push(Event {
                        customer: c,
                        day: d,
                        value: 1.0,
                    });
                }
            }
        }
        let p = SeasonalProfile::estimate(&events, end).unwrap();
        assert!(p.seen.iter().all(|&s| s));
        let ratio = p.multipliers[10] / p.multipliers[5];
        assert!((ratio - 2.0).abs() < 0.02, "{:?}", p.multipliers);
        // exposure-weighted mean of the multipliers is 1
        let mean: f64 = (0..12)
            .map(|m| p.multipliers[m] * p.exposure_days[m])
            .sum::<f64>()
            / p.exposure_days.iter().sum::<f64>();
        assert!((mean - 1.0).abs() < 1e-12, "{mean}");
    }
}
