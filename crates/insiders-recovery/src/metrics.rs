//! The measures of a selection: precision, recall and F1 against a truth, the top-N of a
//! score, precision@N and shares of revenue. Plain arithmetic on masks over one customer
//! table (one entry per row).

use crate::RecoveryError;
use serde::Serialize;

/// A selection against a truth: how many were selected, how many are truly positive, and
/// how many of the selected are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// Customers selected.
    pub selected: usize,
    /// Customers truly positive.
    pub positives: usize,
    /// Selected and positive.
    pub hits: usize,
}

impl Confusion {
    /// Counts `selected` against `truth` (same length).
    ///
    /// # Errors
    /// [`RecoveryError::Shape`] when the lengths differ.
    pub fn of(selected: &[bool], truth: &[bool]) -> Result<Confusion, RecoveryError> {
        same_len("selection", selected.len(), truth.len())?;
        Ok(Confusion {
            selected: count(selected),
            positives: count(truth),
            hits: selected
                .iter()
                .zip(truth)
                .filter(|&(&s, &t)| s && t)
                .count(),
        })
    }

    /// Hits / selected (0 when nothing is selected).
    pub fn precision(&self) -> f64 {
        ratio(self.hits, self.selected)
    }

    /// Hits / positives (0 when there is no positive).
    pub fn recall(&self) -> f64 {
        ratio(self.hits, self.positives)
    }

    /// The harmonic mean of precision and recall (0 when both are 0).
    pub fn f1(&self) -> f64 {
        // 2 TP / (2 TP + FP + FN), the same as 2PR / (P + R) without the division by zero.
        ratio(2 * self.hits, self.selected + self.positives)
    }

    /// Selected but not positive.
    pub fn false_positives(&self) -> usize {
        self.selected - self.hits
    }

    /// Positive but not selected.
    pub fn false_negatives(&self) -> usize {
        self.positives - self.hits
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn count(m: &[bool]) -> usize {
    m.iter().filter(|&&b| b).count()
}

fn same_len(what: &'static str, a: usize, b: usize) -> Result<(), RecoveryError> {
    if a == b {
        Ok(())
    } else {
        Err(RecoveryError::Shape(format!(
            "{what}: {a} entries against {b}"
        )))
    }
}

/// The `n` eligible rows with the highest `score` (ties: the lower row first, i.e. the lower
/// customer id); fewer when fewer are eligible. Non-finite scores rank last.
///
/// # Errors
/// [`RecoveryError::Shape`] when the lengths differ.
pub fn top_n(score: &[f64], eligible: &[bool], n: usize) -> Result<Vec<bool>, RecoveryError> {
    same_len("score", score.len(), eligible.len())?;
    Ok(insiders_core::numeric::top_n(score, eligible, n))
}

/// Precision@N: the share of the `n` chosen that are among the top `n` (`hits / n`).
///
/// # Errors
/// [`RecoveryError::Shape`] when the lengths differ.
pub fn precision_at_n(chosen: &[bool], top: &[bool], n: usize) -> Result<f64, RecoveryError> {
    let c = Confusion::of(chosen, top)?;
    Ok(ratio(c.hits, n))
}

/// The share of the revenue of `universe` that the selected rows of it hold.
///
/// # Errors
/// [`RecoveryError::Shape`] when the lengths differ.
pub fn revenue_share(
    selected: &[bool],
    revenue: &[f64],
    universe: &[bool],
) -> Result<f64, RecoveryError> {
    same_len("revenue", revenue.len(), universe.len())?;
    same_len("selection", selected.len(), universe.len())?;
    let (mut part, mut all) = (0.0, 0.0);
    for i in 0..revenue.len() {
        if universe[i] {
            all += revenue[i];
            if selected[i] {
                part += revenue[i];
            }
        }
    }
    Ok(if all > 0.0 { part / all } else { 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_recall_f1_by_hand() {
        // 5 selected, 4 positive, 3 in both: P = 3/5, R = 3/4, F1 = 2*0.6*0.75/1.35 = 2/3.
        let sel = [true, true, true, true, true, false, false, false];
        let tru = [true, true, true, false, false, true, false, false];
        let c = Confusion::of(&sel, &tru).unwrap();
        assert_eq!((c.selected, c.positives, c.hits), (5, 4, 3));
        assert_eq!((c.false_positives(), c.false_negatives()), (2, 1));
        assert!((c.precision() - 0.6).abs() < 1e-15);
        assert!((c.recall() - 0.75).abs() < 1e-15);
        assert!((c.f1() - 2.0 / 3.0).abs() < 1e-15);
        // Nothing selected: precision, recall, F1 all 0; nothing positive: recall 0.
        let none = Confusion::of(&[false; 3], &[true, false, true]).unwrap();
        assert_eq!(
            (none.precision(), none.recall(), none.f1()),
            (0.0, 0.0, 0.0)
        );
        let perfect = Confusion::of(&[true, false], &[true, false]).unwrap();
        assert_eq!(
            (perfect.precision(), perfect.recall(), perfect.f1()),
            (1.0, 1.0, 1.0)
        );
        assert!(Confusion::of(&[true], &[true, false]).is_err());
    }

    #[test]
    fn top_n_ranks_eligible_rows_with_ties_by_row() {
        let score = [5.0, 9.0, 7.0, 9.0, f64::NAN, 1.0];
        let elig = [true, true, true, true, true, false];
        // 9 (row 1), 9 (row 3), 7 (row 2): row 1 before row 3 on the tie.
        assert_eq!(
            top_n(&score, &elig, 3).unwrap(),
            [false, true, true, true, false, false]
        );
        assert_eq!(
            top_n(&score, &elig, 1).unwrap(),
            [false, true, false, false, false, false]
        );
        // More asked than eligible: every eligible row, the NaN last but in.
        assert_eq!(top_n(&score, &elig, 10).unwrap(), elig);
    }

    #[test]
    fn precision_at_n_and_revenue_shares_by_hand() {
        let chosen = [true, true, false, true, false];
        let top = [true, false, true, true, false];
        // 2 of the 3 chosen are in the top 3.
        assert!((precision_at_n(&chosen, &top, 3).unwrap() - 2.0 / 3.0).abs() < 1e-15);
        let revenue = [10.0, 20.0, 30.0, 40.0, 100.0];
        let universe = [true, true, true, true, false];
        // (10 + 20 + 40) / (10 + 20 + 30 + 40) = 0.7; row 4 is outside the universe.
        let s = revenue_share(&chosen, &revenue, &universe).unwrap();
        assert!((s - 0.7).abs() < 1e-15);
        let all = revenue_share(&[true; 5], &revenue, &[true; 5]).unwrap();
        assert_eq!(all, 1.0);
        assert_eq!(revenue_share(&chosen, &[0.0; 5], &universe).unwrap(), 0.0);
    }
}
