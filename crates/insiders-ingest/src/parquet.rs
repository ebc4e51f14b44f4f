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
use crate::transactions::{Interner, Line, Transactions};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field as ArrowField, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
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
    /// Strings as a dictionary (see [`dictionary_text`]).
    Dict(
        &'a arrow_array::DictionaryArray<Int32Type>,
        &'a arrow_array::StringArray,
    ),
    Other(&'a dyn Array),
    Absent,
}

impl Text<'_> {
    fn get<'s>(&'s self, i: usize, buf: &'s mut String) -> &'s str {
        match self {
            Text::Utf8(a) if !a.is_null(i) => a.value(i),
            Text::Large(a) if !a.is_null(i) => a.value(i),
            Text::View(a) if !a.is_null(i) => a.value(i),
            Text::Dict(d, v) if !d.is_null(i) => usize::try_from(d.keys().value(i))
                .ok()
                .filter(|&k| k < v.len())
                .map_or("", |k| v.value(k)),
            Text::Other(a) => {
                buf.clear();
                buf.push_str(&text_at(*a, i));
                buf.as_str()
            }
            _ => "",
        }
    }
}

/// A dictionary of strings with `i32` keys, and its values (without nulls).
fn dict_strings(
    c: &ArrayRef,
) -> Option<(
    &arrow_array::DictionaryArray<Int32Type>,
    &arrow_array::StringArray,
)> {
    let d = c.as_dictionary_opt::<Int32Type>()?;
    let v = d.values().as_string_opt::<i32>()?;
    (v.null_count() == 0).then_some((d, v))
}

fn text<'a>(col: Option<&'a ArrayRef>) -> Text<'a> {
    match col {
        None => Text::Absent,
        Some(c) => match c.data_type() {
            DataType::Utf8 => Text::Utf8(c.as_string::<i32>()),
            DataType::LargeUtf8 => Text::Large(c.as_string::<i64>()),
            DataType::Utf8View => Text::View(c.as_string_view()),
            _ => match dict_strings(c) {
                Some((d, v)) => Text::Dict(d, v),
                None => Text::Other(c.as_ref()),
            },
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
    read_parquet_with(path, opts, true)
}

/// [`read_parquet`], with the columnar path or row by row only (`columnar = false`: the
/// tests' reference).
fn read_parquet_with(
    path: &Path,
    opts: &InputOptions,
    columnar: bool,
) -> Result<Loaded, IngestError> {
    let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| perr(path, e))?;
    let file_schema = builder.schema().clone();
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
    // Only the mapped columns are decoded (the description only when kept), unless rejects
    // are kept: a reject's record shows every column of its row.
    let (projection, position) = project(&map, header.len(), opts);
    let ctx = GroupCtx {
        path,
        map: &map,
        temporal,
        opts,
        projection: projection
            .map(|roots| parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), roots)),
        position,
        group_rows: &group_rows,
        columnar,
        options: ArrowReaderOptions::new().with_schema(dictionary_text(&file_schema, &map)),
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
                // Room for as many invoice numbers a row as the first group has (the table
                // then grows less often: each growth rehashes every number).
                let rows = group_rows[0].max(1) as f64;
                let per_row = out.lines.invoices.len() as f64 / rows;
                lines
                    .invoices
                    .reserve((per_row * total_rows as f64 * 1.1) as usize);
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

/// Batches read by the columnar path (the tests check that it is taken).
#[cfg(test)]
static COLUMNAR_BATCHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// What every row group's read shares.
struct GroupCtx<'a> {
    path: &'a Path,
    map: &'a crate::read::ColumnMap,
    temporal: bool,
    opts: &'a InputOptions,
    /// The columns decoded (all when `None`).
    projection: Option<parquet::arrow::ProjectionMask>,
    /// Position in a batch of each column of the file (`usize::MAX`: not decoded).
    position: Vec<usize>,
    group_rows: &'a [u64],
    /// Whether batches may take the columnar path.
    columnar: bool,
    /// The schema read: the file's, with its string columns of text fields as dictionaries.
    options: ArrowReaderOptions,
}

/// The file's schema with the string columns of the text fields (invoice, stock code,
/// description, country) read as dictionaries: Parquet stores them dictionary-encoded, and
/// the columnar path then interns each distinct value of a batch once.
fn dictionary_text(schema: &Schema, map: &crate::read::ColumnMap) -> Arc<Schema> {
    let text = [
        Field::Invoice,
        Field::StockCode,
        Field::Description,
        Field::Country,
    ];
    let dict: Vec<usize> = text.iter().filter_map(|&f| map.idx[f as usize]).collect();
    let fields: Vec<ArrowField> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, f)| {
            if dict.contains(&c) && *f.data_type() == DataType::Utf8 {
                f.as_ref().clone().with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(DataType::Utf8),
                ))
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The columns to decode: the mapped ones (the description only when descriptions are
/// kept), or every column (`None`) when rejected rows are kept, whose records show the whole
/// row; and the position in a batch of each column of the file.
fn project(
    map: &crate::read::ColumnMap,
    columns: usize,
    opts: &InputOptions,
) -> (Option<Vec<usize>>, Vec<usize>) {
    if opts.on_bad_row == OnBadRow::Skip {
        return (None, (0..columns).collect());
    }
    let mut roots: Vec<usize> = Field::ALL
        .iter()
        .filter(|&&f| f != Field::Description || opts.descriptions)
        .filter_map(|&f| map.idx[f as usize])
        .collect();
    roots.sort_unstable();
    roots.dedup();
    let mut position = vec![usize::MAX; columns];
    for (k, &c) in roots.iter().enumerate() {
        position[c] = k;
    }
    (Some(roots), position)
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
        ..
    } = *ctx;
    let DateState {
        mut configured,
        mut spec,
        mut offset_secs,
        mut offset_days,
    } = state;
    let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
    let mut builder =
        ParquetRecordBatchReaderBuilder::try_new_with_options(file, ctx.options.clone())
            .map_err(|e| perr(path, e))?
            .with_row_groups(vec![g])
            .with_batch_size(64 * 1024);
    if let Some(mask) = &ctx.projection {
        builder = builder.with_projection(mask.clone());
    }
    let reader = builder.build().map_err(|e| perr(path, e))?;
    let mut lines = Transactions::for_descriptions(opts.descriptions);
    lines.reserve(ctx.group_rows[g] as usize);
    let mut rejects = Vec::new();
    let mut rows_read = 0u64;
    let (mut b0, mut b1, mut b2, mut b7) =
        (String::new(), String::new(), String::new(), String::new());
    let mut scratch = String::new();
    let mut ids = Ids::default();
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| perr(path, e))?;
        // A column not decoded (the description when descriptions are dropped) reads as
        // absent.
        let col = |f: Field| {
            map.idx[f as usize]
                .and_then(|c| ctx.position.get(c))
                .and_then(|&k| batch.columns().get(k))
        };
        // The columnar path, when the types allow it and every value is good; otherwise row
        // by row (which reports a bad row).
        if temporal
            && ctx.columnar
            && let Some(fast) = Fast::of(col, opts.descriptions)
            && fast.valid()
        {
            // The date offset, as the row-by-row path settles it at its first row.
            let off = *offset_secs.get_or_insert_with(|| {
                offset_days = date_offset(opts, &spec);
                offset_days * date::DAY
            });
            fast.push_into(&mut lines, off, &mut ids);
            #[cfg(test)]
            COLUMNAR_BATCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            rows_read += batch.num_rows() as u64;
            continue;
        }
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

/// The columns of a batch whose types allow the columnar path: text columns as strings (or
/// dictionaries of strings), integer quantities and customer ids, timestamps of any unit,
/// float prices, no amount column (the types `insiders synth` writes). Other batches take
/// the row-by-row path.
struct Fast<'a> {
    invoice: TextCol<'a>,
    stock: TextCol<'a>,
    desc: TextCol<'a>,
    country: TextCol<'a>,
    qty: Option<&'a [i64]>,
    /// Timestamps, and the divisor that turns them into seconds.
    when: &'a [i64],
    per_second: i64,
    price: Option<&'a [f64]>,
    customer: Option<&'a arrow_array::Int64Array>,
    rows: usize,
}

/// A text column of the columnar path.
#[derive(Clone, Copy)]
enum TextCol<'a> {
    /// Not in the data (every value is the empty string).
    Absent,
    Plain(&'a arrow_array::StringArray),
    /// Dictionary keys (all within the values) and values.
    Dict(
        &'a arrow_array::DictionaryArray<Int32Type>,
        &'a arrow_array::StringArray,
    ),
}

impl<'a> TextCol<'a> {
    /// The column, when its type suits the columnar path.
    fn of(col: Option<&'a ArrayRef>) -> Option<Self> {
        let Some(c) = col else {
            return Some(TextCol::Absent);
        };
        if let Some(a) = c.as_string_opt::<i32>() {
            return Some(TextCol::Plain(a));
        }
        let (d, v) = dict_strings(c)?;
        let n = v.len();
        d.keys()
            .values()
            .iter()
            .all(|&k| usize::try_from(k).is_ok_and(|k| k < n))
            .then_some(TextCol::Dict(d, v))
    }

    /// The interned id of every row's value (a null is the empty string), interned in row
    /// order as the row-by-row path would: a dictionary's values once each.
    fn intern(self, rows: usize, into: &mut Interner, out: &mut Vec<u32>) {
        out.clear();
        match self {
            TextCol::Absent => {
                if rows > 0 {
                    let id = into.intern("");
                    out.resize(rows, id);
                }
            }
            TextCol::Plain(a) => {
                out.extend((0..rows).map(|i| {
                    into.intern(if a.nulls().is_none_or(|n| n.is_valid(i)) {
                        a.value(i)
                    } else {
                        ""
                    })
                }));
            }
            TextCol::Dict(d, v) => {
                let mut ids = vec![u32::MAX; v.len()];
                let keys = d.keys().values();
                let nulls = d.keys().nulls();
                out.extend((0..rows).map(|i| {
                    if !nulls.is_none_or(|n| n.is_valid(i)) {
                        return into.intern("");
                    }
                    let k = keys[i] as usize;
                    if ids[k] == u32::MAX {
                        ids[k] = into.intern(v.value(k));
                    }
                    ids[k]
                }));
            }
        }
    }
}

/// The values of a column of primitive type `T` without nulls (`Some(None)`: absent; `None`:
/// another type, or a null, which the row-by-row path reports).
fn values<T: arrow_array::ArrowPrimitiveType>(
    col: Option<&ArrayRef>,
) -> Option<Option<&[T::Native]>> {
    match col {
        None => Some(None),
        Some(c) if c.null_count() > 0 => None,
        Some(c) => c.as_primitive_opt::<T>().map(|p| Some(&p.values()[..])),
    }
}

/// Per-row ids of a batch's text columns (kept between batches for their allocations).
#[derive(Default)]
struct Ids {
    invoice: Vec<u32>,
    stock: Vec<u32>,
    desc: Vec<u32>,
    country: Vec<u32>,
}

impl<'a> Fast<'a> {
    /// The batch's columns, when their types allow the columnar path.
    fn of<F: Fn(Field) -> Option<&'a ArrayRef>>(col: F, descriptions: bool) -> Option<Self> {
        if col(Field::Amount).is_some() {
            return None;
        }
        let date = col(Field::InvoiceDate)?;
        if date.null_count() > 0 {
            return None;
        }
        let (when, per_second): (&[i64], i64) = match date.data_type() {
            DataType::Timestamp(TimeUnit::Second, _) => {
                (date.as_primitive::<TimestampSecondType>().values(), 1)
            }
            DataType::Timestamp(TimeUnit::Millisecond, _) => (
                date.as_primitive::<TimestampMillisecondType>().values(),
                1_000,
            ),
            DataType::Timestamp(TimeUnit::Microsecond, _) => (
                date.as_primitive::<TimestampMicrosecondType>().values(),
                1_000_000,
            ),
            DataType::Timestamp(TimeUnit::Nanosecond, _) => (
                date.as_primitive::<TimestampNanosecondType>().values(),
                1_000_000_000,
            ),
            _ => return None,
        };
        let customer = match col(Field::CustomerId) {
            None => None,
            Some(c) => Some(c.as_primitive_opt::<Int64Type>()?),
        };
        Some(Fast {
            invoice: TextCol::of(col(Field::Invoice))?,
            stock: TextCol::of(col(Field::StockCode))?,
            desc: if descriptions {
                TextCol::of(col(Field::Description))?
            } else {
                TextCol::Absent
            },
            country: TextCol::of(col(Field::Country))?,
            qty: values::<Int64Type>(col(Field::Quantity))?,
            when,
            per_second,
            price: values::<Float64Type>(col(Field::UnitPrice))?,
            customer,
            rows: date.len(),
        })
    }

    /// Whether every value is one the row-by-row path accepts as is: finite prices, customer
    /// ids within `u32`. (Nulls of quantities, dates and prices, and keys outside their
    /// dictionary, were refused by [`Fast::of`].)
    fn valid(&self) -> bool {
        let ids = |v: i64| (0..=i64::from(u32::MAX)).contains(&v);
        self.price.is_none_or(|p| p.iter().all(|x| x.is_finite()))
            && self.customer.is_none_or(|c| {
                if c.null_count() == 0 {
                    c.values().iter().all(|&v| ids(v))
                } else {
                    c.iter().all(|v| v.is_none_or(ids))
                }
            })
    }

    /// Appends the batch's lines as the row-by-row path would (for a [`Fast::valid`] batch):
    /// the same lines, runs and interned ids. `offset` is the date offset in seconds.
    fn push_into(&self, lines: &mut Transactions, offset: i64, ids: &mut Ids) {
        let n = self.rows;
        // Column by column: each interner sees its values in row order, so ids are given in
        // order of first appearance as row by row.
        self.invoice
            .intern(n, &mut lines.invoices, &mut ids.invoice);
        self.country
            .intern(n, &mut lines.countries, &mut ids.country);
        self.stock.intern(n, &mut lines.stock_codes, &mut ids.stock);
        let desc = lines.has_descriptions();
        if desc {
            self.desc.intern(n, &mut lines.descriptions, &mut ids.desc);
        }
        let (customers, customer_nulls) = match self.customer {
            Some(c) => (Some(&c.values()[..]), c.nulls()),
            None => (None, None),
        };
        for i in 0..n {
            let customer = customers.and_then(|c| {
                customer_nulls
                    .is_none_or(|n| n.is_valid(i))
                    .then(|| c[i] as u32)
            });
            let t = self.when[i];
            let seconds = if self.per_second == 1 {
                t
            } else {
                t.div_euclid(self.per_second)
            };
            let run = lines.run_for(ids.invoice[i], customer, seconds + offset, ids.country[i]);
            // As the row-by-row path: an integer quantity goes through `f64`.
            let quantity = self.qty.map_or(0, |q| q[i] as f64 as i64);
            let price = self.price.map_or(f64::NAN, |p| p[i]);
            lines.push_ids(
                run,
                ids.stock[i],
                if desc { ids.desc[i] } else { 0 },
                quantity,
                price,
            );
        }
    }
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

    /// Lines of a shop with the types `insiders synth` writes: invoices of several lines,
    /// customers missing on some, quantities beyond `i32`, prices `0.0` and `-0.0`, in
    /// row groups of `group` rows; timestamps in `unit`, dictionary-encoded or not.
    #[allow(clippy::unwrap_used)]
    fn shop_file(p: &Path, rows: usize, group: usize, unit: TimeUnit, dictionary: bool) {
        let schema = Arc::new(Schema::new(vec![
            ArrowField::new("InvoiceNo", DataType::Utf8, false),
            ArrowField::new("StockCode", DataType::Utf8, true),
            ArrowField::new("Description", DataType::Utf8, false),
            ArrowField::new("Quantity", DataType::Int64, false),
            ArrowField::new("InvoiceDate", DataType::Timestamp(unit, None), false),
            ArrowField::new("UnitPrice", DataType::Float64, false),
            ArrowField::new("CustomerID", DataType::Int64, true),
            ArrowField::new("Country", DataType::Utf8, false),
        ]));
        let mut x = 12345u64;
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        let (mut inv, mut stock, mut desc, mut qty, mut ts, mut price, mut cust, mut country) = (
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
        );
        let mut invoice = 536_000u64;
        let mut left = 0;
        let (mut who, mut when, mut land) = (None, 0i64, "");
        let per_second = match unit {
            TimeUnit::Second => 1,
            TimeUnit::Millisecond => 1_000,
            TimeUnit::Microsecond => 1_000_000,
            TimeUnit::Nanosecond => 1_000_000_000,
        };
        for _ in 0..rows {
            if left == 0 {
                left = 1 + next(12);
                invoice += 1 + next(3);
                who = (next(5) > 0).then(|| 12_000 + next(40) as i64);
                // Some dates before 1970 (negative timestamps).
                when = (next(4_000) as i64 - 500) * 86_400 + next(86_400) as i64;
                land = ["United Kingdom", "France", "EIRE"][next(3) as usize];
            }
            left -= 1;
            let code = next(30);
            inv.push(if next(10) == 0 {
                format!("C{invoice}")
            } else {
                invoice.to_string()
            });
            stock.push((code != 7).then(|| format!("2{code:04}")));
            desc.push(format!("ITEM {code}"));
            qty.push(match next(50) {
                0 => i64::from(i32::MAX) + 9,
                1 => i64::from(i32::MIN),
                2 => -(next(5) as i64) - 1,
                _ => next(24) as i64 + 1,
            });
            ts.push(when * per_second + next(per_second as u64) as i64);
            price.push(match next(40) {
                0 => 0.0,
                1 => -0.0,
                _ => (next(2_000) as f64) / 100.0,
            });
            cust.push(who);
            country.push(land);
        }
        let ts: ArrayRef = match unit {
            TimeUnit::Second => Arc::new(arrow_array::TimestampSecondArray::from(ts)),
            TimeUnit::Millisecond => Arc::new(arrow_array::TimestampMillisecondArray::from(ts)),
            TimeUnit::Microsecond => Arc::new(arrow_array::TimestampMicrosecondArray::from(ts)),
            TimeUnit::Nanosecond => Arc::new(arrow_array::TimestampNanosecondArray::from(ts)),
        };
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(arrow_array::StringArray::from(inv)),
                Arc::new(arrow_array::StringArray::from(stock)),
                Arc::new(arrow_array::StringArray::from(desc)),
                Arc::new(arrow_array::Int64Array::from(qty)),
                ts,
                Arc::new(arrow_array::Float64Array::from(price)),
                Arc::new(arrow_array::Int64Array::from(cust)),
                Arc::new(arrow_array::StringArray::from(country)),
            ],
        )
        .unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group))
            .set_dictionary_enabled(dictionary)
            .build();
        let mut w =
            ArrowWriter::try_new(std::fs::File::create(p).unwrap(), schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    /// Whether two reads hold the same lines, runs and interned strings (prices by bits).
    fn same(a: &Transactions, b: &Transactions) {
        assert_eq!(a.len(), b.len());
        assert_eq!(a.runs(), b.runs());
        macro_rules! same_columns {
            ($($f:ident),*) => {$(
                assert_eq!(
                    a.column(Transactions::$f),
                    b.column(Transactions::$f),
                    stringify!($f)
                );
            )*};
        }
        same_columns!(
            run_of,
            invoice,
            stock_code,
            description,
            quantity,
            timestamp,
            customer_id,
            country
        );
        let bits = |t: &Transactions, i| t.unit_price(i).to_bits();
        assert_eq!(a.column(bits), b.column(bits));
        assert!(a.invoices.strings().eq(b.invoices.strings()));
        assert!(a.stock_codes.strings().eq(b.stock_codes.strings()));
        assert!(a.descriptions.strings().eq(b.descriptions.strings()));
        assert!(a.countries.strings().eq(b.countries.strings()));
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn the_columnar_path_reads_what_row_by_row_reads() {
        let dir = tempfile::tempdir().unwrap();
        for (k, (unit, dictionary)) in [
            (TimeUnit::Second, true),
            (TimeUnit::Second, false),
            (TimeUnit::Millisecond, true),
            (TimeUnit::Nanosecond, false),
        ]
        .into_iter()
        .enumerate()
        {
            let p = dir.path().join(format!("shop{k}.parquet"));
            shop_file(&p, 20_000, 3_001, unit, dictionary);
            for descriptions in [false, true] {
                let opts = InputOptions {
                    descriptions,
                    ..InputOptions::default()
                };
                let before = COLUMNAR_BATCHES.load(std::sync::atomic::Ordering::Relaxed);
                let fast = read_parquet_with(&p, &opts, true).unwrap();
                let after = COLUMNAR_BATCHES.load(std::sync::atomic::Ordering::Relaxed);
                // Every row group (7) read as columns.
                assert!(after - before >= 7, "{before} -> {after}");
                let slow = read_parquet_with(&p, &opts, false).unwrap();
                assert_eq!(fast.report, slow.report);
                assert_eq!(fast.report.rows_read, 20_000);
                same(&fast.lines, &slow.lines);
            }
        }
    }

    /// A shop whose row `bad` (0-based) has `column` replaced by a bad value.
    #[allow(clippy::unwrap_used)]
    fn shop_with_bad_value(p: &Path, bad: usize, column: &str) {
        let good = p.with_extension("good");
        shop_file(&good, 5_000, 1_000, TimeUnit::Second, true);
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&good).unwrap())
            .unwrap()
            .with_batch_size(10_000)
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        let batch = arrow_select_concat(&batches);
        let schema = batch.schema();
        let c = schema.index_of(column).unwrap();
        let mut cols = batch.columns().to_vec();
        cols[c] = match column {
            "CustomerID" => {
                let mut v: Vec<Option<i64>> = cols[c].as_primitive::<Int64Type>().iter().collect();
                v[bad] = Some(-7);
                Arc::new(arrow_array::Int64Array::from(v))
            }
            "UnitPrice" => {
                let mut v: Vec<f64> = cols[c].as_primitive::<Float64Type>().values().to_vec();
                v[bad] = f64::NAN;
                Arc::new(arrow_array::Float64Array::from(v))
            }
            _ => {
                let mut v: Vec<Option<i64>> = cols[c].as_primitive::<Int64Type>().iter().collect();
                v[bad] = None;
                let field = ArrowField::new(column, DataType::Int64, true);
                let fields: Vec<ArrowField> = schema
                    .fields()
                    .iter()
                    .map(|f| {
                        if f.name() == column {
                            field.clone()
                        } else {
                            f.as_ref().clone()
                        }
                    })
                    .collect();
                let schema = Arc::new(Schema::new(fields));
                cols[c] = Arc::new(arrow_array::Int64Array::from(v));
                let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
                return write_groups(p, &batch, 1_000);
            }
        };
        let batch = RecordBatch::try_new(schema, cols).unwrap();
        write_groups(p, &batch, 1_000);
    }

    /// The batches as one.
    #[allow(clippy::unwrap_used)]
    fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
        let schema = batches[0].schema();
        let cols = (0..schema.fields().len())
            .map(|c| {
                let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
                concat(&parts)
            })
            .collect();
        RecordBatch::try_new(schema, cols).unwrap()
    }

    /// Arrays of one type as one (the types of [`shop_file`]).
    #[allow(clippy::unwrap_used)]
    fn concat(parts: &[&dyn Array]) -> ArrayRef {
        match parts[0].data_type() {
            DataType::Utf8 => Arc::new(arrow_array::StringArray::from_iter(
                parts.iter().flat_map(|a| a.as_string::<i32>().iter()),
            )),
            DataType::Int64 => Arc::new(arrow_array::Int64Array::from_iter(
                parts
                    .iter()
                    .flat_map(|a| a.as_primitive::<Int64Type>().iter()),
            )),
            DataType::Float64 => Arc::new(arrow_array::Float64Array::from_iter(
                parts
                    .iter()
                    .flat_map(|a| a.as_primitive::<Float64Type>().iter()),
            )),
            _ => Arc::new(arrow_array::TimestampSecondArray::from_iter(
                parts
                    .iter()
                    .flat_map(|a| a.as_primitive::<TimestampSecondType>().iter()),
            )),
        }
    }

    #[allow(clippy::unwrap_used)]
    fn write_groups(p: &Path, batch: &RecordBatch, group: usize) {
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group))
            .build();
        let mut w = ArrowWriter::try_new(
            std::fs::File::create(p).unwrap(),
            batch.schema(),
            Some(props),
        )
        .unwrap();
        w.write(batch).unwrap();
        w.close().unwrap();
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_bad_value_in_a_columnar_batch_names_its_row_and_column() {
        let dir = tempfile::tempdir().unwrap();
        for (column, bad) in [
            ("CustomerID", 2_345),
            ("UnitPrice", 4_999),
            ("Quantity", 1_000),
        ] {
            let p = dir.path().join(format!("bad-{column}.parquet"));
            shop_with_bad_value(&p, bad, column);
            let e = read_parquet(&p, &InputOptions::default())
                .unwrap_err()
                .to_string();
            let want = format!("row {}, column `{column}`", bad + 1);
            assert!(e.contains(&want), "{e}");
            // Skipped, the row is counted, and the others read as row by row reads them.
            let skip = InputOptions {
                on_bad_row: OnBadRow::Skip,
                ..InputOptions::default()
            };
            let fast = read_parquet_with(&p, &skip, true).unwrap();
            let slow = read_parquet_with(&p, &skip, false).unwrap();
            assert_eq!(fast.report.rows_read, 5_000);
            assert_eq!(fast.lines.len(), 4_999);
            assert_eq!(fast.report.rejects.len(), 1);
            assert_eq!(fast.report.rejects[0].location, format!("row {}", bad + 1));
            assert_eq!(fast.report, slow.report);
            same(&fast.lines, &slow.lines);
        }
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
