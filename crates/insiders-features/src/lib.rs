//! From invoice lines to the customer table: the canonical cleaning rules with full row
//! accounting ([`clean`]), the 11 per-customer features ([`features`]), and scalers that
//! are fitted on one table and applied to another ([`scale`]).

pub mod clean;
pub mod error;
pub mod features;
pub mod scale;

pub use clean::{
    Bucket, Cleaned, CleaningOptions, CustomerAccount, MissingCustomer, NotApplied, RowAccount,
    SYNTHETIC_ID_START, account_buckets, clean,
};
pub use error::FeaturesError;
pub use features::{
    ALL_FEATURES, CustomerTable, SELECTED_FEATURES, Unavailable, customer_table,
    unavailable_features,
};
pub use scale::{Scaler, ScalerKind};
