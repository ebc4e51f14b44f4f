//! Helpers shared by the integration tests.
#![allow(dead_code)]

use insiders_history::{Membership, RunRecord};

/// A run record for `as_of` whose Insiders cluster is 0.
pub fn record(as_of: &str) -> RunRecord {
    RunRecord {
        as_of: as_of.to_owned(),
        config_hash: "cafebabe0123456789".to_owned(),
        data_fingerprint: format!("data-{as_of}"),
        seed: 42,
        model: "ward k=10 on tree space".to_owned(),
        insiders_cluster: 0,
        tool_version: "0.1.0".to_owned(),
    }
}

/// Memberships with the Insiders (cluster 0) given explicitly and every other customer in
/// cluster `1 + id % 3`.
pub fn members(customers: impl IntoIterator<Item = i64>, insiders: &[i64]) -> Vec<Membership> {
    customers
        .into_iter()
        .map(|customer_id| {
            let insider = insiders.contains(&customer_id);
            Membership {
                customer_id,
                cluster: if insider { 0 } else { 1 + customer_id % 3 },
                insider,
            }
        })
        .collect()
}

/// `2011-MM-01` for month index `m` (0 = January).
pub fn month(m: usize) -> String {
    format!("2011-{:02}-01", m + 1)
}
