//! Dates as seconds since 1970-01-01 00:00:00 (naive shop-local time, no time zone),
//! a small `strftime`-style parser, and detection of the published copies' formats.

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a civil date (proleptic Gregorian; Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

/// Seconds since the epoch of a date and time, validated.
pub fn timestamp(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60
    {
        return None;
    }
    Some(days_from_civil(y, mo, d) * DAY + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s))
}

/// The day number (since 1970-01-01) of a timestamp: the time of day truncated.
pub fn day_of(ts: i64) -> i64 {
    ts.div_euclid(DAY)
}

/// Formats a timestamp as `YYYY-MM-DD HH:MM:SS`.
pub fn format_timestamp(ts: i64) -> String {
    let (y, m, d) = civil_from_days(day_of(ts));
    let s = ts.rem_euclid(DAY);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// Formats a day number as `YYYY-MM-DD`.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD` into a day number.
pub fn parse_day(s: &str) -> Option<i64> {
    DateFormat::parse_spec("%Y-%m-%d")
        .ok()?
        .parse(s)
        .map(day_of)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Year4,
    Year2,
    Month,
    MonthName,
    Day,
    Hour,
    Minute,
    Second,
    Lit(u8),
}

/// A date format in a `strftime` subset: `%Y %y %m %d %b %H %M %S` and literal characters.
///
/// Numeric fields accept one or two digits where the format has no separator problem
/// (`12/1/2010 8:26` parses with `%m/%d/%Y %H:%M`). A format may end before the time:
/// missing trailing time fields read as 0. `%y` maps 00–68 to 2000–2068 and 69–99 to 1969–1999.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    spec: String,
    toks: Vec<Tok>,
    /// The spec is exactly `%Y-%m-%d %H:%M:%S` (our copy): values of the full fixed width
    /// take a direct path.
    iso_seconds: bool,
}

impl DateFormat {
    /// Parses a format specification.
    pub fn parse_spec(spec: &str) -> Result<Self, String> {
        let b = spec.as_bytes();
        let mut toks = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let t = match b.get(i + 1) {
                    Some(b'Y') => Tok::Year4,
                    Some(b'y') => Tok::Year2,
                    Some(b'm') => Tok::Month,
                    Some(b'b') => Tok::MonthName,
                    Some(b'd') => Tok::Day,
                    Some(b'H') => Tok::Hour,
                    Some(b'M') => Tok::Minute,
                    Some(b'S') => Tok::Second,
                    Some(b'%') => Tok::Lit(b'%'),
                    other => {
                        return Err(format!(
                            "unsupported directive `%{}` in date format `{spec}` (supported: %Y %y %m %d %b %H %M %S)",
                            other.map(|c| *c as char).unwrap_or(' ')
                        ));
                    }
                };
                toks.push(t);
                i += 2;
            } else {
                toks.push(Tok::Lit(b[i]));
                i += 1;
            }
        }
        if !toks.iter().any(|t| matches!(t, Tok::Year4 | Tok::Year2))
            || !toks
                .iter()
                .any(|t| matches!(t, Tok::Month | Tok::MonthName))
            || !toks.contains(&Tok::Day)
        {
            return Err(format!(
                "date format `{spec}` needs a year, a month and a day"
            ));
        }
        Ok(DateFormat {
            spec: spec.to_string(),
            toks,
            iso_seconds: spec == "%Y-%m-%d %H:%M:%S",
        })
    }

    /// The specification string.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// Parses a date-time; `None` when it does not match the format or is not a real date.
    pub fn parse(&self, s: &str) -> Option<i64> {
        if self.iso_seconds
            && let Some(t) = parse_iso_seconds(s.as_bytes())
        {
            return t;
        }
        let b = s.trim().as_bytes();
        let (mut y, mut mo, mut d, mut h, mut mi, mut se) = (None, None, None, 0u32, 0u32, 0u32);
        let mut i = 0;
        for (ti, t) in self.toks.iter().enumerate() {
            if i >= b.len() {
                // The input may stop before trailing time fields and their separators.
                let rest_is_time = self.toks[ti..]
                    .iter()
                    .all(|t| matches!(t, Tok::Hour | Tok::Minute | Tok::Second | Tok::Lit(_)));
                if rest_is_time && ti > 0 {
                    break;
                }
                return None;
            }
            match t {
                Tok::Lit(c) => {
                    if b[i] != *c {
                        return None;
                    }
                    i += 1;
                }
                Tok::MonthName => {
                    let name = b.get(i..i + 3)?;
                    const NAMES: [&[u8; 3]; 12] = [
                        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep",
                        b"oct", b"nov", b"dec",
                    ];
                    let lower = [
                        name[0].to_ascii_lowercase(),
                        name[1].to_ascii_lowercase(),
                        name[2].to_ascii_lowercase(),
                    ];
                    mo = Some(NAMES.iter().position(|n| **n == lower)? as u32 + 1);
                    i += 3;
                }
                _ => {
                    let max = if *t == Tok::Year4 { 4 } else { 2 };
                    let start = i;
                    let mut v = 0u32;
                    while i < b.len() && i - start < max && b[i].is_ascii_digit() {
                        v = v * 10 + u32::from(b[i] - b'0');
                        i += 1;
                    }
                    let len = i - start;
                    // Without a separator from the number before or after it (`%Y%m%d`),
                    // a field must have its full width: `1997011` is not a date.
                    let numeric = |n: Option<&Tok>| {
                        n.is_some_and(|n| !matches!(n, Tok::Lit(_) | Tok::MonthName))
                    };
                    let packed = numeric(self.toks.get(ti + 1))
                        || numeric(ti.checked_sub(1).and_then(|p| self.toks.get(p)));
                    if len == 0
                        || (*t == Tok::Year4 && len != 4)
                        || (*t == Tok::Year2 && len != 2)
                        || (packed && len != max)
                    {
                        return None;
                    }
                    match t {
                        Tok::Year4 => y = Some(v as i32),
                        Tok::Year2 => {
                            y = Some(if v < 69 {
                                2000 + v as i32
                            } else {
                                1900 + v as i32
                            })
                        }
                        Tok::Month => mo = Some(v),
                        Tok::Day => d = Some(v),
                        Tok::Hour => h = v,
                        Tok::Minute => mi = v,
                        Tok::Second => se = v,
                        _ => {}
                    }
                }
            }
        }
        if i != b.len() {
            return None;
        }
        timestamp(y?, mo?, d?, h, mi, se)
    }
}

/// `YYYY-MM-DD HH:MM:SS` of exactly 19 bytes: `Some(result)` with the generic parser's
/// result, or `None` when the value is not of that shape (the generic parser decides then).
#[inline]
fn parse_iso_seconds(b: &[u8]) -> Option<Option<i64>> {
    let b: &[u8; 19] = b.try_into().ok()?;
    let digit = |i: usize| -> Option<u32> {
        let c = b[i].wrapping_sub(b'0');
        (c < 10).then_some(u32::from(c))
    };
    let two = |i: usize| -> Option<u32> { Some(digit(i)? * 10 + digit(i + 1)?) };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let y = two(0)? * 100 + two(2)?;
    let (mo, d, h, mi, s) = (two(5)?, two(8)?, two(11)?, two(14)?, two(17)?);
    Some(timestamp(y as i32, mo, d, h, mi, s))
}

/// Guesses the format of a date value of one of the published copies:
/// `2010-12-01 08:26:00` (ours), `12/1/2010 8:26` (Kaggle, month first), `29-Nov-16` (course),
/// and of CDNOW (`19970101`, `%Y%m%d`).
pub fn detect(sample: &str) -> Option<DateFormat> {
    let candidates = [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%m/%d/%Y %H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%d-%b-%y",
        "%d-%b-%Y %H:%M",
        "%d-%b-%Y",
        "%Y%m%d",
    ];
    candidates.iter().find_map(|spec| {
        let f = DateFormat::parse_spec(spec).ok()?;
        f.parse(sample).map(|_| f)
    })
}

/// Seconds since the epoch of an Excel serial date-time (1900 system; serial 25569 = 1970-01-01),
/// rounded to the nearest second.
pub fn from_excel_serial(serial: f64) -> Option<i64> {
    if !serial.is_finite() || serial < 1.0 {
        return None;
    }
    Some(((serial - 25_569.0) * DAY as f64).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for z in [-800_000i64, -1, 0, 1, 14_944, 15_317, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(2010, 12, 1), 14_944);
        assert_eq!(
            format_timestamp(timestamp(2011, 12, 9, 12, 50, 0).unwrap()),
            "2011-12-09 12:50:00"
        );
    }

    #[test]
    fn published_formats() {
        let ours = detect("2010-12-01 08:26:00").unwrap();
        let kaggle = detect("12/1/2010 8:26").unwrap();
        let course = detect("29-Nov-16").unwrap();
        assert_eq!(kaggle.spec(), "%m/%d/%Y %H:%M");
        assert_eq!(course.spec(), "%d-%b-%y");
        let t = ours.parse("2010-12-01 08:26:00").unwrap();
        assert_eq!(kaggle.parse("12/1/2010 8:26").unwrap(), t);
        assert_eq!(day_of(course.parse("29-Nov-16").unwrap()) - 2190, day_of(t));
        assert!(ours.parse("2010-13-01 08:26:00").is_none());
        assert!(ours.parse("2011-02-29 08:26:00").is_none());
        assert!(ours.parse("garbage").is_none());
        assert!(ours.parse("2010-12-01 08:26:00x").is_none());
        assert_eq!(ours.parse("2010-12-01"), Some(14_944 * DAY));
    }

    #[test]
    fn fixed_width_path_equals_the_generic_parser() {
        let fast = DateFormat::parse_spec("%Y-%m-%d %H:%M:%S").unwrap();
        // The same format without the fast path (a literal `%%`-free respelling is not
        // possible, so compare against a copy with the flag cleared).
        let slow = DateFormat {
            iso_seconds: false,
            ..fast.clone()
        };
        let mut rng = insiders_core::Rng::new(7);
        let alphabet = b"0123456789-: x";
        let mut cases: Vec<String> = vec![
            "2010-12-01 08:26:00".into(),
            "2011-02-29 08:26:00".into(),
            "2012-02-29 23:59:60".into(),
            "2010-00-01 08:26:00".into(),
            "2010-12-01 24:00:00".into(),
            " 2010-12-01 08:26:0".into(),
            "0000-01-01 00:00:00".into(),
        ];
        for _ in 0..20_000 {
            let mut s: Vec<u8> = b"2010-12-01 08:26:00".to_vec();
            for _ in 0..rng.below(3) {
                let i = rng.below(s.len());
                s[i] = alphabet[rng.below(alphabet.len())];
            }
            cases.push(String::from_utf8(s).unwrap());
        }
        for c in &cases {
            assert_eq!(fast.parse(c), slow.parse(c), "{c:?}");
        }
    }

    #[test]
    fn custom_spec_and_errors() {
        let f = DateFormat::parse_spec("%d/%m/%Y").unwrap();
        assert_eq!(day_of(f.parse("01/12/2010").unwrap()), 14_944);
        assert!(DateFormat::parse_spec("%Q").is_err());
        // CDNOW: no separators, so every field has its full width.
        let packed = DateFormat::parse_spec("%Y%m%d").unwrap();
        assert_eq!(day_of(packed.parse("20101201").unwrap()), 14_944);
        assert_eq!(detect("19970101").unwrap().spec(), "%Y%m%d");
        for bad in ["2010121", "201012011", "20101301", "20100230", "2010-12-01"] {
            assert!(packed.parse(bad).is_none(), "{bad}");
        }
        assert!(DateFormat::parse_spec("%H:%M").is_err());
    }

    #[test]
    fn excel_serial() {
        // 2010-12-01 08:26 is serial 40513.35138888889
        let t = from_excel_serial(40_513.351_388_888_89).unwrap();
        assert_eq!(format_timestamp(t), "2010-12-01 08:26:00");
    }
}
