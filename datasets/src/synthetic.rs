//! The synthetic shop presets: seeded configurations of `insiders_synth`, each a registry
//! entry (`synthetic`, `synthetic-10k`, ...).

pub use insiders_synth::{Shop, ShopConfig};

/// A named synthetic shop: the default configuration with another number of customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The registry id.
    pub id: &'static str,
    /// Customers with an id (the known-bad user is extra).
    pub customers: usize,
    /// The master seed.
    pub seed: u64,
}

/// The presets, smallest first. `synthetic` is the tool's embedded default data
/// (`ShopConfig::default()`); the others are for scale tests and benchmarks
/// (`insiders_synth::MAX_CUSTOMERS` is 200,000).
pub const PRESETS: [Preset; 5] = [
    Preset {
        id: "synthetic",
        customers: 2_000,
        seed: 42,
    },
    Preset {
        id: "synthetic-10k",
        customers: 10_000,
        seed: 42,
    },
    Preset {
        id: "synthetic-40k",
        customers: 40_000,
        seed: 42,
    },
    Preset {
        id: "synthetic-100k",
        customers: 100_000,
        seed: 42,
    },
    Preset {
        id: "synthetic-200k",
        customers: 200_000,
        seed: 42,
    },
];

impl Preset {
    /// The preset with this id.
    pub fn get(id: &str) -> Option<Preset> {
        PRESETS.iter().copied().find(|p| p.id == id)
    }

    /// The shop configuration: the default with this preset's customers and seed.
    pub fn config(&self) -> ShopConfig {
        ShopConfig {
            customers: self.customers,
            seed: self.seed,
            ..ShopConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_preset_is_the_embedded_default() {
        assert_eq!(
            Preset::get("synthetic").unwrap().config(),
            ShopConfig::default()
        );
        for p in PRESETS {
            assert!(p.customers <= insiders_synth::MAX_CUSTOMERS, "{p:?}");
        }
    }
}
