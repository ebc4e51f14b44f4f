//! Parsing the values of a row, shared by the CSV and xlsx readers: quantities (integers,
//! or floats without a fraction), unit prices and amounts, customer ids (`17850`,
//! `17850.0`, zero-padded `00017`, empty) and dates (with the date offset). Errors are messages that quote the raw value.

use crate::date::DateFormat;

pub(crate) fn parse_quantity(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if let Ok(v) = t.parse::<i64>() {
        return Ok(v);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 => Ok(v as i64),
        _ => Err(format!("quantity `{s}` is not an integer")),
    }
}

pub(crate) fn parse_price(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("unit price `{s}` is not a number")),
    }
}

pub(crate) fn parse_amount(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("amount `{s}` is not a number")),
    }
}

pub(crate) fn customer_from_f64(v: f64, raw: &str) -> Result<Option<u32>, String> {
    if v.is_finite() && v.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&v) {
        Ok(Some(v as u32))
    } else {
        Err(format!("customer id `{raw}` is not a non-negative integer"))
    }
}

pub(crate) fn parse_customer(s: &str) -> Result<Option<u32>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if let Ok(v) = t.parse::<u32>() {
        return Ok(Some(v));
    }
    // `17850.0` (our copy): the integer part decides, as the float parse would.
    if let Some(int) = t.strip_suffix(".0")
        && let Ok(v) = int.parse::<u32>()
    {
        return Ok(Some(v));
    }
    match t.parse::<f64>() {
        Ok(v) => customer_from_f64(v, s),
        Err(_) => Err(format!("customer id `{s}` is not a number")),
    }
}

pub(crate) fn parse_date(s: &str, fmt: &DateFormat, offset_secs: i64) -> Result<i64, String> {
    fmt.parse(s)
        .map(|t| t + offset_secs)
        .ok_or_else(|| format!("date `{s}` does not match the format `{}`", fmt.spec()))
}
