//! Test support for parity tests, kept for its many dev-dependents: a re-export of
//! [`insiders_datasets::shared`] (where `../shared` is; a missing file skips locally and fails
//! under `CI=true`) and [`insiders_datasets::fixtures`] (readers of the parity fixtures).
//! New code should name data sets through the registry of `insiders-datasets`.

pub use insiders_datasets::fixtures::{Table, read_records, read_table, reference, rel_diff};
pub use insiders_datasets::shared::{
    data_path, fixture, fixture_path, real_data, require, shared_dir,
};
