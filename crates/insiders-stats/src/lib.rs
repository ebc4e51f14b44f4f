//! Statistics behind the answers of `insiders run`:
//!
//! - [`clv`]: customer-lifetime value. BG/NBD and Gamma-Gamma fitted by maximum likelihood,
//!   a backtest against actuals and a naive baseline, and a forecast of a group's revenue with
//!   an uncertainty band (question 5: expected revenue of the Insiders in the coming months);
//! - [`hypothesis`]: Mann-Whitney U with effect sizes, bootstrap confidence intervals of the
//!   difference of means or medians, and the Jaccard index (question 8: evidence that the
//!   Insiders differ from the rest, and how stable their membership is);
//! - [`tree`]: a shallow CART classifier whose positive leaves read as plain-language rules
//!   with support, precision and recall (question 6: conditions to become an Insider).
//!
//! Every function validates its input and returns [`StatsError`] rather than panicking;
//! randomness flows from an explicit `u64` seed through [`insiders_core::Rng`], with
//! per-task seeds, so results are bit-identical whatever the rayon thread count.
//! `docs/statistics.md` says what each method assumes and how to read its numbers.

#![deny(missing_docs)]

pub mod clv;
mod error;
pub mod hypothesis;
mod optim;
pub mod special;
pub mod tree;

pub use error::StatsError;
