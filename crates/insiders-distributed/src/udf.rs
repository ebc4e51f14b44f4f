//! The row parsers of the plan, as DataFusion scalar functions: the same rules as the local
//! reader (`insiders_ingest`), applied to the raw text of each field, so that a value the
//! local path rejects is rejected here too. A function returns NULL for a malformed value.
//!
//! The functions carry no state (the date format and offset are arguments), so a Ballista
//! scheduler and executors that register them by name ([`register_all`], done by
//! `insiders ballista scheduler|executor`) run the same plan as this process.

use datafusion::arrow::array::{Array, ArrayRef, Float64Array, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use insiders_ingest::date::DateFormat;
use std::sync::Arc;

/// Name of the trim function (Rust's `str::trim`: Unicode white space).
pub const TRIM: &str = "insiders_trim";
/// Name of the quantity parser (integers, or floats without a fraction).
pub const QUANTITY: &str = "insiders_quantity";
/// Name of the unit price parser (finite floats).
pub const PRICE: &str = "insiders_price";
/// Name of the customer id parser: -1 for an empty id, NULL for a malformed one.
pub const CUSTOMER: &str = "insiders_customer";
/// Name of the date parser: (text, format, offset seconds) -> seconds since 1970.
pub const TIMESTAMP: &str = "insiders_timestamp";

/// The quantity rule of the local reader.
pub fn parse_quantity(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Ok(v) = t.parse::<i64>() {
        return Some(v);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 => Some(v as i64),
        _ => None,
    }
}

/// The unit price rule of the local reader.
pub fn parse_price(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The customer id rule of the local reader: `Some(None)` for an empty id, `None` when
/// malformed.
pub fn parse_customer(s: &str) -> Option<Option<u32>> {
    let t = s.trim();
    if t.is_empty() {
        return Some(None);
    }
    if let Ok(v) = t.parse::<u32>() {
        return Some(Some(v));
    }
    if let Some(int) = t.strip_suffix(".0")
        && let Ok(v) = int.parse::<u32>()
    {
        return Some(Some(v));
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&v) => {
            Some(Some(v as u32))
        }
        _ => None,
    }
}

fn strings(v: &ColumnarValue, rows: usize) -> Result<StringArray> {
    let a = v.to_array(rows)?;
    let a = cast(&a, &DataType::Utf8)?;
    a.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| DataFusionError::Internal("expected a string column".into()))
}

fn rows_of(args: &[ColumnarValue]) -> usize {
    args.iter()
        .find_map(|a| match a {
            ColumnarValue::Array(a) => Some(a.len()),
            ColumnarValue::Scalar(_) => None,
        })
        .unwrap_or(1)
}

fn scalar_str(v: &ColumnarValue, what: &str) -> Result<String> {
    match v {
        ColumnarValue::Scalar(ScalarValue::Utf8(Some(s)))
        | ColumnarValue::Scalar(ScalarValue::Utf8View(Some(s)))
        | ColumnarValue::Scalar(ScalarValue::LargeUtf8(Some(s))) => Ok(s.clone()),
        _ => Err(DataFusionError::Plan(format!(
            "{what} must be a string literal"
        ))),
    }
}

fn scalar_i64(v: &ColumnarValue, what: &str) -> Result<i64> {
    match v {
        ColumnarValue::Scalar(ScalarValue::Int64(Some(x))) => Ok(*x),
        _ => Err(DataFusionError::Plan(format!(
            "{what} must be an integer literal"
        ))),
    }
}

/// Maps the (NULL as empty) text of a column through `f`.
fn map_text<T>(args: &[ColumnarValue], f: impl Fn(&str) -> Option<T>) -> Result<Vec<Option<T>>> {
    let rows = rows_of(args);
    let s = strings(&args[0], rows)?;
    Ok((0..s.len())
        .map(|i| f(if s.is_null(i) { "" } else { s.value(i) }))
        .collect())
}

fn out(a: ArrayRef, scalar: bool) -> Result<ColumnarValue> {
    Ok(if scalar {
        ColumnarValue::Scalar(ScalarValue::try_from_array(&a, 0)?)
    } else {
        ColumnarValue::Array(a)
    })
}

fn all_scalar(args: &[ColumnarValue]) -> bool {
    args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)))
}

/// The scalar functions of the plan.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    let trim = create_udf(
        TRIM,
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let v = map_text(args, |s| Some(s.trim().to_string()))?;
            out(Arc::new(StringArray::from(v)), all_scalar(args))
        }),
    );
    let quantity = create_udf(
        QUANTITY,
        vec![DataType::Utf8],
        DataType::Int64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let v = map_text(args, parse_quantity)?;
            out(Arc::new(Int64Array::from(v)), all_scalar(args))
        }),
    );
    let price = create_udf(
        PRICE,
        vec![DataType::Utf8],
        DataType::Float64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let v = map_text(args, parse_price)?;
            out(Arc::new(Float64Array::from(v)), all_scalar(args))
        }),
    );
    let customer = create_udf(
        CUSTOMER,
        vec![DataType::Utf8],
        DataType::Int64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let v = map_text(args, |s| parse_customer(s).map(|c| c.map_or(-1, i64::from)))?;
            out(Arc::new(Int64Array::from(v)), all_scalar(args))
        }),
    );
    let timestamp = create_udf(
        TIMESTAMP,
        vec![DataType::Utf8, DataType::Utf8, DataType::Int64],
        DataType::Int64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let spec = scalar_str(&args[1], "the date format")?;
            let offset = scalar_i64(&args[2], "the date offset")?;
            let fmt = DateFormat::parse_spec(&spec).map_err(DataFusionError::Plan)?;
            let v = map_text(&args[..1], |s| fmt.parse(s).map(|t| t + offset))?;
            out(
                Arc::new(Int64Array::from(v)),
                matches!(args[0], ColumnarValue::Scalar(_)),
            )
        }),
    );
    [trim, quantity, price, customer, timestamp]
        .into_iter()
        .map(Arc::new)
        .collect()
}

/// Registers the functions of the plan with a function registry (a session, a scheduler's
/// session, an executor's registry).
pub fn register_all(registry: &mut dyn datafusion::execution::FunctionRegistry) -> Result<()> {
    for f in functions() {
        registry.register_udf(f)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_readers_rules() {
        assert_eq!(parse_quantity(" 6 "), Some(6));
        assert_eq!(parse_quantity("-3.0"), Some(-3));
        assert_eq!(parse_quantity("2.5"), None);
        assert_eq!(parse_quantity(""), None);
        assert_eq!(parse_price("2.55"), Some(2.55));
        assert_eq!(parse_price("inf"), None);
        assert_eq!(parse_customer("17850.0"), Some(Some(17850)));
        assert_eq!(parse_customer("00017"), Some(Some(17)));
        assert_eq!(parse_customer(" "), Some(None));
        assert_eq!(parse_customer("-1"), None);
        assert_eq!(parse_customer("abc"), None);
    }
}
