//! The error type of `insiders-stats`.

use thiserror::Error;

/// What can go wrong in a statistical computation.
///
/// Every validation rule has its own variant, so callers and tests can match on it. No
/// function of this crate panics on bad input: empty, non-finite, negative where a positive
/// value is required, or too few observations are all reported here.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum StatsError {
    /// An input has no observations.
    #[error("empty input: {what}")]
    Empty {
        /// Which input is empty.
        what: &'static str,
    },
    /// A value is NaN or infinite.
    #[error("non-finite value {value} in {what} at index {index}")]
    NonFinite {
        /// Which input holds the value.
        what: &'static str,
        /// 0-based position of the value.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A value is outside its domain (e.g. a negative age, a non-positive spend).
    #[error("invalid value {value} in {what} at index {index}: {rule}")]
    OutOfDomain {
        /// Which input holds the value.
        what: &'static str,
        /// 0-based position of the value.
        index: usize,
        /// The offending value.
        value: f64,
        /// The rule it breaks, e.g. "must be > 0".
        rule: &'static str,
    },
    /// Fewer observations than the method needs.
    #[error("too few observations in {what}: {found}, need at least {needed}")]
    TooFew {
        /// Which input is too small.
        what: &'static str,
        /// The minimum number needed.
        needed: usize,
        /// The number found.
        found: usize,
    },
    /// A parameter is out of range.
    #[error("parameter `{key}`: {message}")]
    Param {
        /// The parameter's name.
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Input lengths do not agree.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// The data carry no information for the method (e.g. every value tied, so the
    /// Mann-Whitney variance is zero; one class only for a classifier).
    #[error("degenerate input: {0}")]
    Degenerate(String),
    /// A numerical failure (no convergence, a series that does not converge, overflow).
    #[error("numerical failure in {method}: {message}")]
    Numerical {
        /// The method that failed.
        method: &'static str,
        /// What happened.
        message: String,
    },
}

impl StatsError {
    /// Shorthand for [`StatsError::Param`].
    pub fn param(key: &'static str, message: impl Into<String>) -> Self {
        StatsError::Param {
            key,
            message: message.into(),
        }
    }

    /// Shorthand for [`StatsError::Numerical`].
    pub fn numerical(method: &'static str, message: impl Into<String>) -> Self {
        StatsError::Numerical {
            method,
            message: message.into(),
        }
    }
}

/// Checks that a sample is non-empty and every value finite.
pub(crate) fn check_sample(what: &'static str, xs: &[f64]) -> Result<(), StatsError> {
    if xs.is_empty() {
        return Err(StatsError::Empty { what });
    }
    check_finite(what, xs)
}

/// Checks that every value is finite.
pub(crate) fn check_finite(what: &'static str, xs: &[f64]) -> Result<(), StatsError> {
    match xs.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(StatsError::NonFinite {
            what,
            index,
            value: xs[index],
        }),
        None => Ok(()),
    }
}
