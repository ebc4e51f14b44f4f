//! Validation of the `YYYY-MM-DD` as-of dates.
//!
//! Dates are stored as text in the database: written `YYYY-MM-DD` with zero padding, their
//! text order is their calendar order, so SQL can compare and sort them directly.

use crate::error::{Error, Result};

/// Checks that `s` is a real calendar date written `YYYY-MM-DD` (years 0001 to 9999,
/// leap years honoured).
///
/// # Errors
/// [`Error::InvalidDate`] otherwise.
///
/// ```
/// assert!(insiders_history::validate_date("2011-02-28").is_ok());
/// assert!(insiders_history::validate_date("2011-02-29").is_err());
/// assert!(insiders_history::validate_date("2012-02-29").is_ok());
/// assert!(insiders_history::validate_date("2011-2-1").is_err());
/// ```
pub fn validate_date(s: &str) -> Result<()> {
    let bad = || Error::InvalidDate(s.to_owned());
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let number = |range: std::ops::Range<usize>| -> Result<u32> {
        let part = &b[range];
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(part
            .iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0')))
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(bad());
    }
    Ok(())
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_dates_and_rejects_others() {
        for ok in [
            "2011-01-01",
            "2011-12-31",
            "2000-02-29",
            "2024-02-29",
            "0001-01-01",
        ] {
            assert!(validate_date(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "2011-13-01",
            "2011-00-10",
            "2011-04-31",
            "1900-02-29",
            "2011-02-29",
            "0000-01-01",
            "2011/01/01",
            "2011-01-1",
            "2011-01-011",
            "20११-01-01",
            "2011-+1-01",
        ] {
            assert!(
                matches!(validate_date(bad), Err(Error::InvalidDate(s)) if s == bad),
                "{bad}"
            );
        }
    }
}
