//! Small numeric helpers shared by every crate, each written once: the quantile of sorted
//! data, the Jaccard index of two sets, the top N of a score, and the FNV-1a hash used for
//! seeds and fingerprints.

/// The `q`-quantile (`0 <= q <= 1`, clamped) of ascending data by linear interpolation
/// between order statistics: numpy's default `method="linear"` (Hyndman & Fan type 7), with
/// numpy's two-sided interpolation so that the result is numpy's to the bit. pandas'
/// `quantile` uses the same rule. NaN for empty data.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let t = h - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

/// The Jaccard index `|A ∩ B| / |A ∪ B|` of two sets given as ascending, duplicate-free
/// slices; `None` when both are empty (the index is undefined there, and each caller says
/// what it means for it).
pub fn jaccard_sorted<T: Ord>(a: &[T], b: &[T]) -> Option<f64> {
    if a.is_empty() && b.is_empty() {
        return None;
    }
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    Some(inter as f64 / (a.len() + b.len() - inter) as f64)
}

/// The Jaccard index of two sets given as membership masks over the same items: the sets
/// of the positions that are `true`. `None` when both are empty.
pub fn jaccard_masks(a: &[bool], b: &[bool]) -> Option<f64> {
    let (mut both, mut any) = (0usize, 0usize);
    for (&x, &y) in a.iter().zip(b) {
        both += usize::from(x && y);
        any += usize::from(x || y);
    }
    (any > 0).then(|| both as f64 / any as f64)
}

/// The FNV-1a offset basis (64 bits): the start value of [`fnv1a`].
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// The `n` eligible rows with the highest `score` (ties: the lower row first); fewer when
/// fewer are eligible. Non-finite scores rank last. `eligible` is as long as `score` (rows
/// past its end are not eligible).
pub fn top_n(score: &[f64], eligible: &[bool], n: usize) -> Vec<bool> {
    let mut rows: Vec<usize> = (0..score.len())
        .filter(|&i| eligible.get(i).copied().unwrap_or(false))
        .collect();
    let key = |i: usize| {
        if score[i].is_finite() {
            score[i]
        } else {
            f64::NEG_INFINITY
        }
    };
    rows.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    let mut out = vec![false; score.len()];
    for &i in rows.iter().take(n) {
        out[i] = true;
    }
    out
}

/// FNV-1a, 64 bits, of `bytes` continuing from `h` (start with [`FNV_OFFSET`]): cell and
/// space seeds, data and configuration fingerprints. Not cryptographic.
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>, mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// FNV-1a of a string from the offset basis.
pub fn fnv1a_str(s: &str) -> u64 {
    fnv1a(s.bytes(), FNV_OFFSET)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn quantiles_are_numpys() {
        // numpy.quantile([1, 2, 4, 8], q) for q = 0, 0.25, 0.5, 0.9, 1.
        let v = [1.0, 2.0, 4.0, 8.0];
        let q: Vec<f64> = [0.0, 0.25, 0.5, 0.9, 1.0]
            .iter()
            .map(|&q| quantile_sorted(&v, q))
            .collect();
        assert_eq!(q, [1.0, 1.75, 3.0, 6.800000000000001, 8.0]);
        assert!(quantile_sorted(&[], 0.5).is_nan());
        assert_eq!(quantile_sorted(&[3.0], 0.7), 3.0);
    }

    #[test]
    fn jaccard_of_sets_and_masks_agree() {
        assert_eq!(jaccard_sorted(&[1, 2, 3], &[2, 3, 4]), Some(0.5));
        assert_eq!(jaccard_sorted::<u32>(&[], &[]), None);
        assert_eq!(jaccard_sorted(&[1], &[]), Some(0.0));
        let a = [true, true, true, false];
        let b = [false, true, true, true];
        assert_eq!(jaccard_masks(&a, &b), Some(0.5));
        assert_eq!(jaccard_masks(&[false], &[false]), None);
    }

    #[test]
    fn fnv1a_known_values() {
        assert_eq!(fnv1a_str(""), FNV_OFFSET);
        // The published FNV-1a 64 test vector for "a".
        assert_eq!(fnv1a_str("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(
            fnv1a("ab".bytes(), FNV_OFFSET),
            fnv1a("b".bytes(), fnv1a_str("a"))
        );
    }
}
