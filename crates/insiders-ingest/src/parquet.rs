//! Apache Parquet (arrow-rs): invoice lines in, invoice lines out (`insiders synth`), and the
//! customer table out.
//!
//! Reading maps the file's columns by name exactly as a CSV header is mapped (the published
//! headers, or `[input.columns]`), reads one row group at a time, and turns each value into
//! the line the CSV path would give: text columns may be strings or numbers; quantities
//! integers (or integral floats, or text); dates timestamps of any unit (their wall-clock
//! value; a time zone is not applied), `Date32`/`Date64`, or text parsed with the date
//! format; prices and amounts numbers or text; customer ids integers, integral floats or
//! text. A bad value is an error naming the file, the row (1-based, over the whole file) and
//! the column, or, with `on_bad_row = skip`, a counted reject.

use crate::date;
use crate::error::{IngestError, Location};
use crate::options::{InputOptions, OnBadRow};
use crate::read::{
    Field, Loaded, Reject, customer_from_f64, date_offset, describe_source, finish, map_columns,
    parse_amount, parse_customer, parse_date, parse_price, parse_quantity, resolve_date_format,
};
use crate::transactions::{Line, Transactions};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field as ArrowField, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// Whether `bytes` start like a Parquet file.
pub fn is_parquet(head: &[u8]) -> bool {
    head.starts_with(b"PAR1")
}

fn perr(path: &Path, e: impl std::fmt::Display) -> IngestError {
    IngestError::NotParquet {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// One value of a row, as text (for messages and rejects).
fn text_at(a: &dyn Array, i: usize) -> String {
    if a.is_null(i) {
        return String::new();
    }
    arrow_cast::display::ArrayFormatter::try_new(a, &Default::default())
        .map(|f| f.value(i).to_string())
        .unwrap_or_default()
}

/// A column read as text (strings, or numbers written as the CSV would show them).
enum Text<'a> {
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
    Other(&'a dyn Array),
    Absent,
}

impl Text<'_> {
    fn get<'s>(&'s self, i: usize, buf: &'s mut String) -> &'s str {
        match self {
            Text::Utf8(a) if !a.is_null(i) => a.value(i),
            Text::Large(a) if !a.is_null(i) => a.value(i),
            Text::View(a) if !a.is_null(i) => a.value(i),
            Text::Other(a) => {
                buf.clear();
                buf.push_str(&text_at(*a, i));
                buf.as_str()
            }
            _ => "",
        }
    }
}

fn text<'a>(col: Option<&'a ArrayRef>) -> Text<'a> {
    match col {
        None => Text::Absent,
        Some(c) => match c.data_type() {
            DataType::Utf8 => Text::Utf8(c.as_string::<i32>()),
            DataType::LargeUtf8 => Text::Large(c.as_string::<i64>()),
            DataType::Utf8View => Text::View(c.as_string_view()),
            _ => Text::Other(c.as_ref()),
        },
    }
}

/// A numeric value of any integer or float column (`None` for null or another type).
fn number(a: &dyn Array, i: usize) -> Option<f64> {
    if a.is_null(i) {
        return None;
    }
    macro_rules! prim {
        ($t:ty) => {
            a.as_primitive_opt::<$t>().map(|p| p.value(i) as f64)
        };
    }
    match a.data_type() {
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Float32 => prim!(Float32Type),
        DataType::Float64 => prim!(Float64Type),
        _ => None,
    }
}

fn is_numeric(t: &DataType) -> bool {
    t.is_integer() || t.is_floating()
}

/// Seconds since the epoch of a temporal value (`None` for null or a non-temporal type).
fn seconds(a: &dyn Array, i: usize) -> Option<i64> {
    if a.is_null(i) {
        return None;
    }
    match a.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            Some(a.as_primitive::<TimestampSecondType>().value(i))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => Some(
            a.as_primitive::<TimestampMillisecondType>()
                .value(i)
                .div_euclid(1000),
        ),
        DataType::Timestamp(TimeUnit::Microsecond, _) => Some(
            a.as_primitive::<TimestampMicrosecondType>()
                .value(i)
                .div_euclid(1_000_000),
        ),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => Some(
            a.as_primitive::<TimestampNanosecondType>()
                .value(i)
                .div_euclid(1_000_000_000),
        ),
        DataType::Date32 => Some(i64::from(a.as_primitive::<Date32Type>().value(i)) * date::DAY),
        DataType::Date64 => Some(a.as_primitive::<Date64Type>().value(i).div_euclid(1000)),
        _ => None,
    }
}

fn is_temporal(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64
    )
}

/// Reads invoice lines from a Parquet file.
pub fn read_parquet(path: &Path, opts: &InputOptions) -> Result<Loaded, IngestError> {
    let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| perr(path, e))?;
    let header: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    if header.is_empty() {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    }
    let total_rows = builder.metadata().file_metadata().num_rows().max(0) as usize;
    let map = map_columns(path, &header, opts)?;
    let date_col = map.idx[Field::InvoiceDate as usize];
    let date_type = date_col.map(|c| builder.schema().field(c).data_type().clone());
    let temporal = date_type.as_ref().is_some_and(is_temporal);
    let groups = builder.metadata().num_row_groups();
    let group_rows: Vec<u64> = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows().max(0) as u64)
        .collect();
    let configured = resolve_date_format(opts, None)?;
    let spec = match (&configured, temporal) {
        (Some(f), _) => f.spec().to_string(),
        (None, true) => "Parquet timestamp".to_string(),
        (None, false) => String::new(),
    };
    let ctx = GroupCtx {
        path,
        map: &map,
        temporal,
        opts,
    };
    // The first row group alone (it settles the date format of text dates), then the
    // others in parallel waves of one group a thread, appended in order: the result is the
    // serial read's, and at most a wave of groups is in memory beside the lines.
    let mut state = DateState {
        configured,
        spec,
        offset_secs: None,
        offset_days: 0,
    };
    let mut lines = Transactions::for_descriptions(opts.descriptions);
    lines.reserve(total_rows);
    let mut rejects = Vec::new();
    let mut rows_read = 0u64;
    let mut first_row = 0u64;
    let mut next = 0usize;
    let wave = rayon::current_num_threads().max(1);
    while next < groups {
        let take = if next == 0 {
            1
        } else {
            wave.min(groups - next)
        };
        let outs: Vec<Result<GroupOut, IngestError>> = (next..next + take)
            .into_par_iter()
            .map(|g| {
                let before: u64 = group_rows[next..g].iter().sum();
                read_group(&ctx, g, first_row + before, state.clone())
            })
            .collect();
        for out in outs {
            let out = out?;
            if next == 0 {
                state = out.state.clone();
            }
            rows_read += out.rows;
            lines.append(&out.lines);
            rejects.extend(out.rejects);
        }
        first_row += group_rows[next..next + take].iter().sum::<u64>();
        next += take;
    }
    let DateState {
        mut spec,
        offset_days,
        ..
    } = state;
    if spec.is_empty() {
        spec = "none (no rows)".into();
    }
    let source = describe_source(false, &map, &spec);
    let mut loaded = finish(
        path,
        lines,
        &map,
        rows_read,
        rejects,
        format!("{source} (Parquet)"),
        &spec,
        opts,
        offset_days,
    )?;
    loaded.report.encoding = "Parquet (UTF-8)".into();
    Ok(loaded)
}

/// What every row group's read shares.
struct GroupCtx<'a> {
    path: &'a Path,
    map: &'a crate::read::ColumnMap,
    temporal: bool,
    opts: &'a InputOptions,
}

/// The date format of text dates (settled by the first row) and the date offset.
#[derive(Clone)]
struct DateState {
    configured: Option<crate::date::DateFormat>,
    spec: String,
    offset_secs: Option<i64>,
    offset_days: i64,
}

/// The lines of one row group.
struct GroupOut {
    lines: Transactions,
    rows: u64,
    rejects: Vec<Reject>,
    state: DateState,
}

/// Reads row group `g`, whose first row is row `first_row + 1` of the file.
fn read_group(
    ctx: &GroupCtx<'_>,
    g: usize,
    first_row: u64,
    state: DateState,
) -> Result<GroupOut, IngestError> {
    let GroupCtx {
        path,
        map,
        temporal,
        opts,
    } = *ctx;
    let DateState {
        mut configured,
        mut spec,
        mut offset_secs,
        mut offset_days,
    } = state;
    let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| perr(path, e))?
        .with_row_groups(vec![g])
        .with_batch_size(64 * 1024)
        .build()
        .map_err(|e| perr(path, e))?;
    let mut lines = Transactions::for_descriptions(opts.descriptions);
    let mut rejects = Vec::new();
    let mut rows_read = 0u64;
    let (mut b0, mut b1, mut b2, mut b7) =
        (String::new(), String::new(), String::new(), String::new());
    let mut scratch = String::new();
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| perr(path, e))?;
        let col = |f: Field| map.idx[f as usize].map(|c| batch.column(c));
        let (inv, stock, desc, country) = (
            text(col(Field::Invoice)),
            text(col(Field::StockCode)),
            text(col(Field::Description)),
            text(col(Field::Country)),
        );
        let qty = col(Field::Quantity);
        let when = col(Field::InvoiceDate);
        let price = col(Field::UnitPrice);
        let cust = col(Field::CustomerId);
        let amount = col(Field::Amount);
        for i in 0..batch.num_rows() {
            rows_read += 1;
            let row = first_row + rows_read;
            let parsed: Result<(), (Field, &'static str, String)> = (|| {
                let quantity = match qty {
                    None => 0,
                    Some(a) if a.data_type().is_integer() => match number(a.as_ref(), i) {
                        Some(v) if v.abs() <= i64::MAX as f64 => v as i64,
                        _ => return Err((Field::Quantity, "bad quantity", "no quantity".into())),
                    },
                    Some(a) => parse_quantity(&text_at(a.as_ref(), i))
                        .map_err(|m| (Field::Quantity, "bad quantity", m))?,
                };
                let timestamp = match when {
                    None => return Err((Field::InvoiceDate, "bad date", "no date".into())),
                    Some(a) if temporal => {
                        let s = seconds(a.as_ref(), i).ok_or((
                            Field::InvoiceDate,
                            "bad date",
                            "no date".to_string(),
                        ))?;
                        s + *offset_secs.get_or_insert_with(|| {
                            offset_days = date_offset(opts, &spec);
                            offset_days * date::DAY
                        })
                    }
                    Some(a) => {
                        let s = text_at(a.as_ref(), i);
                        if configured.is_none() {
                            let f = date::detect(&s).ok_or_else(|| {
                                (
                                    Field::InvoiceDate,
                                    "bad date",
                                    format!("date `{s}` is in no recognised format"),
                                )
                            })?;
                            spec = f.spec().to_string();
                            configured = Some(f);
                        }
                        let off = *offset_secs.get_or_insert_with(|| {
                            offset_days = date_offset(opts, &spec);
                            offset_days * date::DAY
                        });
                        let fmt = configured.as_ref().ok_or((
                            Field::InvoiceDate,
                            "bad date",
                            "no date format".to_string(),
                        ))?;
                        parse_date(&s, fmt, off).map_err(|m| (Field::InvoiceDate, "bad date", m))?
                    }
                };
                let unit_price = match price {
                    None => f64::NAN,
                    Some(a) if is_numeric(a.data_type()) => match number(a.as_ref(), i) {
                        Some(v) if v.is_finite() => v,
                        _ => {
                            return Err((Field::UnitPrice, "bad unit price", "no price".into()));
                        }
                    },
                    Some(a) => parse_price(&text_at(a.as_ref(), i))
                        .map_err(|m| (Field::UnitPrice, "bad unit price", m))?,
                };
                let customer_id = match cust {
                    None => None,
                    Some(a) if a.is_null(i) => None,
                    Some(a) if is_numeric(a.data_type()) => {
                        let v = number(a.as_ref(), i).unwrap_or(f64::NAN);
                        customer_from_f64(v, &text_at(a.as_ref(), i))
                            .map_err(|m| (Field::CustomerId, "bad customer id", m))?
                    }
                    Some(a) => parse_customer(&text_at(a.as_ref(), i))
                        .map_err(|m| (Field::CustomerId, "bad customer id", m))?,
                };
                let amount = match amount {
                    None => None,
                    Some(a) if is_numeric(a.data_type()) => match number(a.as_ref(), i) {
                        Some(v) if v.is_finite() => Some(v),
                        _ => return Err((Field::Amount, "bad amount", "no amount".into())),
                    },
                    Some(a) => Some(
                        parse_amount(&text_at(a.as_ref(), i))
                            .map_err(|m| (Field::Amount, "bad amount", m))?,
                    ),
                };
                lines.push(&Line {
                    invoice: inv.get(i, &mut b0),
                    stock_code: stock.get(i, &mut b1),
                    description: desc.get(i, &mut b2),
                    quantity,
                    timestamp,
                    unit_price,
                    customer_id,
                    country: country.get(i, &mut b7),
                    amount,
                });
                Ok(())
            })();
            if let Err((field, reason, detail)) = parsed {
                let column = map.names[field as usize].clone();
                match opts.on_bad_row {
                    OnBadRow::Error => {
                        return Err(IngestError::BadRow {
                            path: path.to_path_buf(),
                            location: Location::Row { row, column },
                            reason: detail,
                        });
                    }
                    OnBadRow::Skip => {
                        scratch.clear();
                        for (c, a) in batch.columns().iter().enumerate() {
                            if c > 0 {
                                scratch.push(',');
                            }
                            scratch.push_str(&text_at(a.as_ref(), i));
                        }
                        rejects.push(Reject {
                            location: format!("row {row}"),
                            column,
                            reason: reason.to_string(),
                            detail,
                            record: scratch.clone(),
                        });
                    }
                }
            }
        }
    }
    Ok(GroupOut {
        lines,
        rows: rows_read,
        rejects,
        state: DateState {
            configured,
            spec,
            offset_secs,
            offset_days,
        },
    })
}

/// One invoice line to write.
#[derive(Debug, Clone, Copy)]
pub struct LineRow<'a> {
    pub invoice: &'a str,
    pub stock_code: &'a str,
    pub description: &'a str,
    pub quantity: i64,
    /// Seconds since the epoch (wall clock, no time zone).
    pub timestamp: i64,
    pub unit_price: f64,
    pub customer_id: Option<u32>,
    pub country: &'a str,
}

/// Rows per row group of the files we write.
const ROW_GROUP: usize = 1 << 20;

/// Writes invoice lines as Parquet with the published column names (`InvoiceNo`,
/// `StockCode`, `Description`, `Quantity`, `InvoiceDate` as a timestamp in seconds,
/// `UnitPrice`, `CustomerID` as a nullable integer, `Country`), snappy-compressed, one row
/// group per 2^20 rows.
pub struct LinesWriter<W: Write + Send> {
    writer: ArrowWriter<W>,
    schema: Arc<Schema>,
    invoice: arrow_array::builder::StringBuilder,
    stock: arrow_array::builder::StringBuilder,
    desc: arrow_array::builder::StringBuilder,
    qty: Vec<i64>,
    ts: Vec<i64>,
    price: Vec<f64>,
    cust: arrow_array::builder::Int64Builder,
    country: arrow_array::builder::StringBuilder,
}

impl<W: Write + Send> std::fmt::Debug for LinesWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinesWriter").finish_non_exhaustive()
    }
}

fn props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .build()
}

fn werr(e: impl std::fmt::Display) -> IngestError {
    IngestError::Write {
        path: "(parquet)".into(),
        detail: e.to_string(),
    }
}

impl<W: Write + Send> LinesWriter<W> {
    /// Starts a file.
    pub fn new(w: W) -> Result<Self, IngestError> {
        let s = |n: &str| ArrowField::new(n, DataType::Utf8, false);
        let schema = Arc::new(Schema::new(vec![
            s("InvoiceNo"),
            s("StockCode"),
            s("Description"),
            ArrowField::new("Quantity", DataType::Int64, false),
            ArrowField::new(
                "InvoiceDate",
                DataType::Timestamp(TimeUnit::Second, None),
                false,
            ),
            ArrowField::new("UnitPrice", DataType::Float64, false),
            ArrowField::new("CustomerID", DataType::Int64, true),
            s("Country"),
        ]));
        let writer = ArrowWriter::try_new(w, schema.clone(), Some(props())).map_err(werr)?;
        Ok(LinesWriter {
            writer,
            schema,
            invoice: Default::default(),
            stock: Default::default(),
            desc: Default::default(),
            qty: Vec::new(),
            ts: Vec::new(),
            price: Vec::new(),
            cust: Default::default(),
            country: Default::default(),
        })
    }

    /// Adds a row (written when a row group is full, or at [`LinesWriter::finish`]).
    pub fn push(&mut self, r: &LineRow<'_>) -> Result<(), IngestError> {
        self.invoice.append_value(r.invoice);
        self.stock.append_value(r.stock_code);
        self.desc.append_value(r.description);
        self.qty.push(r.quantity);
        self.ts.push(r.timestamp);
        self.price.push(r.unit_price);
        self.cust.append_option(r.customer_id.map(i64::from));
        self.country.append_value(r.country);
        if self.qty.len() >= ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), IngestError> {
        if self.qty.is_empty() {
            return Ok(());
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.invoice.finish()),
            Arc::new(self.stock.finish()),
            Arc::new(self.desc.finish()),
            Arc::new(arrow_array::Int64Array::from(std::mem::take(&mut self.qty))),
            Arc::new(arrow_array::TimestampSecondArray::from(std::mem::take(
                &mut self.ts,
            ))),
            Arc::new(arrow_array::Float64Array::from(std::mem::take(
                &mut self.price,
            ))),
            Arc::new(self.cust.finish()),
            Arc::new(self.country.finish()),
        ];
        let batch = RecordBatch::try_new(self.schema.clone(), cols).map_err(werr)?;
        self.writer.write(&batch).map_err(werr)?;
        self.writer.flush().map_err(werr)
    }

    /// Writes what is left and the footer; returns the inner writer.
    pub fn finish(mut self) -> Result<W, IngestError> {
        self.flush()?;
        self.writer.into_inner().map_err(werr)
    }
}

/// Writes a table of `f64` columns with a leading `u32` id column (the customer table) as
/// Parquet: `id_name` then `columns`, snappy-compressed.
pub fn write_table<W: Write + Send>(
    w: W,
    id_name: &str,
    ids: &[u32],
    columns: &[String],
    values: &[Vec<f64>],
) -> Result<W, IngestError> {
    let mut fields = vec![ArrowField::new(id_name, DataType::UInt32, false)];
    fields.extend(
        columns
            .iter()
            .map(|c| ArrowField::new(c, DataType::Float64, true)),
    );
    let schema = Arc::new(Schema::new(fields));
    let mut writer = ArrowWriter::try_new(w, schema.clone(), Some(props())).map_err(werr)?;
    for start in (0..ids.len()).step_by(ROW_GROUP) {
        let end = (start + ROW_GROUP).min(ids.len());
        let mut cols: Vec<ArrayRef> = vec![Arc::new(arrow_array::UInt32Array::from(
            ids[start..end].to_vec(),
        ))];
        for v in values {
            // NaN (a missing value, e.g. `avg_recency_days` of a one-day customer) is null.
            cols.push(Arc::new(arrow_array::Float64Array::from_iter(
                v[start..end].iter().map(|&x| (!x.is_nan()).then_some(x)),
            )));
        }
        let batch = RecordBatch::try_new(schema.clone(), cols).map_err(werr)?;
        writer.write(&batch).map_err(werr)?;
    }
    writer.into_inner().map_err(werr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::read_bytes;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn lines_round_trip_through_parquet_like_the_csv() {
        let csv = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n\
C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,,United Kingdom\n\
536380,22961,\"JAM, MAKING SET\",24,2010-12-02 10:00:00,0.85,14047.0,France\n";
        let opts = InputOptions::default();
        let from_csv = read_bytes(Path::new("x.csv"), csv.as_bytes().to_vec(), &opts).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.parquet");
        let mut w = LinesWriter::new(std::fs::File::create(&p).unwrap()).unwrap();
        let t = &from_csv.lines;
        for i in 0..t.len() {
            w.push(&LineRow {
                invoice: t.invoices.resolve(t.invoice(i)),
                stock_code: t.stock_codes.resolve(t.stock_code(i)),
                description: t.descriptions.resolve(t.description(i)),
                quantity: t.quantity(i),
                timestamp: t.timestamp(i),
                unit_price: t.unit_price(i),
                customer_id: t.customer_id(i),
                country: t.countries.resolve(t.country(i)),
            })
            .unwrap();
        }
        w.finish().unwrap();
        let back = read_parquet(&p, &opts).unwrap();
        let b = &back.lines;
        assert_eq!(back.report.rows_read, 3);
        assert_eq!(
            b.column(Transactions::quantity),
            t.column(Transactions::quantity)
        );
        assert_eq!(
            b.column(Transactions::timestamp),
            t.column(Transactions::timestamp)
        );
        assert_eq!(
            b.column(Transactions::unit_price),
            t.column(Transactions::unit_price)
        );
        assert_eq!(
            b.column(Transactions::customer_id),
            t.column(Transactions::customer_id)
        );
        assert!(b.invoices.strings().eq(t.invoices.strings()));
        assert!(b.descriptions.strings().eq(t.descriptions.strings()));
        assert!(b.countries.strings().eq(t.countries.strings()));
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_bad_value_names_the_row_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.parquet");
        let schema = Arc::new(Schema::new(vec![
            ArrowField::new("InvoiceNo", DataType::Utf8, false),
            ArrowField::new("InvoiceDate", DataType::Utf8, false),
            ArrowField::new("CustomerID", DataType::Utf8, true),
            ArrowField::new("Quantity", DataType::Utf8, false),
            ArrowField::new("UnitPrice", DataType::Float64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(arrow_array::StringArray::from(vec!["1", "2", "3"])),
                Arc::new(arrow_array::StringArray::from(vec![
                    "2011-01-01 10:00:00",
                    "2011-01-02 10:00:00",
                    "2011-01-03 10:00:00",
                ])),
                Arc::new(arrow_array::StringArray::from(vec![
                    Some("12346"),
                    None,
                    Some("12347"),
                ])),
                Arc::new(arrow_array::StringArray::from(vec!["1", "2", "lots"])),
                Arc::new(arrow_array::Float64Array::from(vec![1.0, 2.0, 3.0])),
            ],
        )
        .unwrap();
        // One row a row group: the groups are read in parallel, rows counted across them.
        let one_row = WriterProperties::builder()
            .set_max_row_group_row_count(Some(1))
            .build();
        let mut w = ArrowWriter::try_new(std::fs::File::create(&p).unwrap(), schema, Some(one_row))
            .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let e = read_parquet(&p, &InputOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 3, column `Quantity`"), "{e}");
        let skip = InputOptions {
            on_bad_row: OnBadRow::Skip,
            ..InputOptions::default()
        };
        let l = read_parquet(&p, &skip).unwrap();
        assert_eq!(l.report.rows_read, 3);
        assert_eq!(l.lines.len(), 2);
        assert_eq!(l.report.rejected.get("bad quantity"), Some(&1));
        assert_eq!(
            l.lines.column(Transactions::customer_id),
            vec![Some(12346), None]
        );
    }
}
