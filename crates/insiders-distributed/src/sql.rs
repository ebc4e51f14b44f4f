//! SQL text and results: quoting, the queries' batches, typed columns of a result.

use crate::compute::Compute;
use crate::error::DistributedError;
use datafusion::arrow::array::{Array, Float64Array, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;

pub(crate) fn column<'a>(
    b: &'a RecordBatch,
    name: &str,
) -> Result<&'a dyn Array, DistributedError> {
    b.column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| DistributedError::Engine {
            compute: "plan".into(),
            message: format!("result has no column {name}"),
        })
}

pub(crate) fn ints(b: &RecordBatch, name: &str) -> Result<Int64Array, DistributedError> {
    let c = cast(column(b, name)?, &DataType::Int64).map_err(|e| DistributedError::Engine {
        compute: "plan".into(),
        message: e.to_string(),
    })?;
    Ok(c.as_any()
        .downcast_ref::<Int64Array>()
        .cloned()
        .unwrap_or_else(|| Int64Array::from(Vec::<i64>::new())))
}

pub(crate) fn floats(b: &RecordBatch, name: &str) -> Result<Float64Array, DistributedError> {
    let c = cast(column(b, name)?, &DataType::Float64).map_err(|e| DistributedError::Engine {
        compute: "plan".into(),
        message: e.to_string(),
    })?;
    Ok(c.as_any()
        .downcast_ref::<Float64Array>()
        .cloned()
        .unwrap_or_else(|| Float64Array::from(Vec::<f64>::new())))
}

pub(crate) fn strings(b: &RecordBatch, name: &str) -> Result<StringArray, DistributedError> {
    let c = cast(column(b, name)?, &DataType::Utf8).map_err(|e| DistributedError::Engine {
        compute: "plan".into(),
        message: e.to_string(),
    })?;
    Ok(c.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .unwrap_or_else(|| StringArray::from(Vec::<String>::new())))
}

pub(crate) fn opt_int(a: &Int64Array, i: usize) -> Option<i64> {
    (!a.is_null(i)).then(|| a.value(i))
}

pub(crate) async fn query(
    ctx: &SessionContext,
    sql: &str,
    compute: &Compute,
) -> Result<Vec<RecordBatch>, DistributedError> {
    ctx.sql(sql)
        .await
        .map_err(df_err(compute))?
        .collect()
        .await
        .map_err(df_err(compute))
}

pub(crate) fn df_err(
    compute: &Compute,
) -> impl Fn(datafusion::error::DataFusionError) -> DistributedError {
    let compute = compute.to_string();
    move |e| DistributedError::Engine {
        compute: compute.clone(),
        message: e.to_string(),
    }
}

pub(crate) fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub(crate) fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub(crate) fn in_list(expr: &str, items: &[String]) -> String {
    if items.is_empty() {
        "FALSE".to_string()
    } else {
        let list: Vec<String> = items.iter().map(|s| quote_str(s)).collect();
        format!("{expr} IN ({})", list.join(", "))
    }
}
