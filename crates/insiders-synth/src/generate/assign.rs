//! Who is who: exact archetype quotas shuffled over the customer indices, the customer ids
//! (skipping the known-bad user's), and the ground truth built from the streams' customers.

use insiders_core::{Rng, derive_seed};

use super::invoice::CustomerInfo;
use super::{BAD_USER_ID, FIRST_CUSTOMER_ID, TAG_ASSIGN};
use crate::archetype::Archetype;
use crate::{ShopConfig, Truth};

/// The archetype of every customer index: exact quotas of the configured shares, shuffled
/// by the assignment stream.
pub(super) fn archetypes(cfg: &ShopConfig) -> Vec<Archetype> {
    let q = quotas(cfg.customers, &cfg.mix);
    let mut archetypes: Vec<Archetype> = Vec::with_capacity(cfg.customers);
    for (a, &k) in Archetype::MIXED.iter().zip(&q) {
        archetypes.extend(std::iter::repeat_n(*a, k));
    }
    Rng::new(derive_seed(cfg.seed, TAG_ASSIGN)).shuffle(&mut archetypes);
    archetypes
}

/// Largest-remainder quotas of `n` customers for the shares, in [`Archetype::MIXED`] order.
fn quotas(n: usize, shares: &[f64; 7]) -> [usize; 7] {
    let total: f64 = shares.iter().sum();
    let exact: Vec<f64> = shares.iter().map(|s| s / total * n as f64).collect();
    let mut q = [0usize; 7];
    for (qi, e) in q.iter_mut().zip(&exact) {
        *qi = e.floor() as usize;
    }
    let mut rest = n.saturating_sub(q.iter().sum::<usize>());
    let mut order: Vec<usize> = (0..7).collect();
    // Larger remainder first; ties by index (stable sort).
    order.sort_by(|&a, &b| {
        let ra = exact[a] - exact[a].floor();
        let rb = exact[b] - exact[b].floor();
        rb.total_cmp(&ra)
    });
    for &i in order.iter().cycle() {
        if rest == 0 {
            break;
        }
        q[i] += 1;
        rest -= 1;
    }
    q
}

/// The id of the `index`-th regular customer: 12346 upwards, skipping the bad user's id
/// when the bad user is present.
pub(super) fn customer_id(index: usize, skip_bad: bool) -> u32 {
    let id = FIRST_CUSTOMER_ID + index as u32;
    if skip_bad && id >= BAD_USER_ID {
        id + 1
    } else {
        id
    }
}

/// The ground truth: one row per customer the streams made, ascending id.
pub(super) fn truth(infos: &[CustomerInfo]) -> Vec<Truth> {
    let mut truth: Vec<Truth> = infos
        .iter()
        .map(|c| Truth {
            customer_id: c.id,
            archetype: c.archetype,
        })
        .collect();
    truth.sort_unstable_by_key(|t| t.customer_id);
    truth
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_are_exact() {
        let shares = [0.08, 0.22, 0.30, 0.20, 0.10, 0.02, 0.08];
        assert_eq!(quotas(2000, &shares), [160, 440, 600, 400, 200, 40, 160]);
        for n in [1, 7, 13, 999] {
            assert_eq!(quotas(n, &shares).iter().sum::<usize>(), n);
        }
        assert_eq!(
            quotas(5, &[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
            [0, 5, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn ids_skip_the_bad_user() {
        assert_eq!(customer_id(0, true), 12_346);
        assert_eq!(customer_id(4_099, true), 16_445);
        assert_eq!(customer_id(4_100, true), 16_447);
        assert_eq!(customer_id(4_100, false), 16_446);
    }
}
