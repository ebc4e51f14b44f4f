//! Writing the CSV: invoice numbers, dates, prices as Python writes floats, fields quoted
//! only when needed; invoices formatted in parallel chunks and concatenated in order, with
//! the counts of [`ShopStats`].

use super::context::{COUNTRIES, Ctx, EUROPEAN_COMMUNITY, UNSPECIFIED};
use super::invoice::{Draft, Kind, Line};

pub(super) const HEADER: &[u8] =
    b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";

fn push_uint(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn push_int(buf: &mut Vec<u8>, v: i64) {
    if v < 0 {
        buf.push(b'-');
    }
    push_uint(buf, v.unsigned_abs());
}

/// A price in thousandths of a pound as Python's `repr` of the float would write it:
/// `2.55`, `15.0`, `0.001`, `-11062.06`.
fn push_price(buf: &mut Vec<u8>, milli: i64) {
    if milli < 0 {
        buf.push(b'-');
    }
    let m = milli.unsigned_abs();
    push_uint(buf, m / 1000);
    buf.push(b'.');
    let frac = m % 1000;
    if !frac.is_multiple_of(10) {
        buf.extend_from_slice(&[
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
        ]);
    } else if !frac.is_multiple_of(100) {
        buf.extend_from_slice(&[b'0' + (frac / 100) as u8, b'0' + (frac / 10 % 10) as u8]);
    } else {
        buf.push(b'0' + (frac / 100) as u8);
    }
}

/// A CSV field, quoted (RFC 4180, quotes doubled) when it holds a comma, quote or newline.
fn push_field(buf: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        buf.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(s.as_bytes());
    }
}

/// Drafts formatted per parallel task.
pub(super) const CHUNK: usize = 2_048;

/// "code,description," and "code,," of every item, formatted once.
pub(super) fn item_fields(ctx: &Ctx<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
    ctx.cat
        .items
        .iter()
        .map(|it| {
            let mut with = Vec::new();
            push_field(&mut with, &it.code);
            with.push(b',');
            let mut without = with.clone();
            push_field(&mut with, &it.description);
            with.push(b',');
            without.push(b',');
            (with, without)
        })
        .collect()
}

/// Line and invoice counts of a chunk.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Counts {
    pub(super) cancellation_invoices: usize,
    pub(super) cancellation_lines: usize,
    pub(super) anonymous_invoices: usize,
    pub(super) anonymous_lines: usize,
    pub(super) junk_code_lines: usize,
    pub(super) low_price_lines: usize,
    pub(super) excluded_country_lines: usize,
}

impl Counts {
    /// Counts one invoice (not its lines).
    pub(super) fn invoice(&mut self, d: &Draft) {
        let len = d.len as usize;
        if d.kind == Kind::Cancel {
            self.cancellation_invoices += 1;
            self.cancellation_lines += len;
        }
        if d.customer_id == 0 {
            self.anonymous_invoices += 1;
            self.anonymous_lines += len;
        }
        if d.country == UNSPECIFIED || d.country == EUROPEAN_COMMUNITY {
            self.excluded_country_lines += len;
        }
    }

    /// Counts one line (`products`: the catalogue's size; items above it are junk codes).
    pub(super) fn line(&mut self, l: &Line, products: u32) {
        if l.item >= products {
            self.junk_code_lines += 1;
        }
        if l.price_milli < 40 {
            self.low_price_lines += 1;
        }
    }

    pub(super) fn add(&mut self, o: &Counts) {
        self.cancellation_invoices += o.cancellation_invoices;
        self.cancellation_lines += o.cancellation_lines;
        self.anonymous_invoices += o.anonymous_invoices;
        self.anonymous_lines += o.anonymous_lines;
        self.junk_code_lines += o.junk_code_lines;
        self.low_price_lines += o.low_price_lines;
        self.excluded_country_lines += o.excluded_country_lines;
    }
}

/// The CSV lines of consecutive invoices numbered from `first_number`.
pub(super) fn format_chunk(
    ctx: &Ctx<'_>,
    items: &[(Vec<u8>, Vec<u8>)],
    drafts: &[Draft],
    lines: &[Line],
    first_number: u64,
) -> (Vec<u8>, Counts) {
    let products = ctx.cat.products as u32;
    let n_lines: usize = drafts.iter().map(|d| d.len as usize).sum();
    let mut buf = Vec::with_capacity(n_lines * 92);
    let mut counts = Counts::default();
    let mut prefix = Vec::with_capacity(16);
    let mut middle = Vec::with_capacity(32);
    let mut suffix = Vec::with_capacity(48);
    for (k, d) in drafts.iter().enumerate() {
        prefix.clear();
        match d.kind {
            Kind::Sale => {}
            Kind::Cancel => prefix.push(b'C'),
            Kind::Adjust => prefix.push(b'A'),
        }
        push_uint(&mut prefix, first_number + k as u64);
        prefix.push(b',');
        let day = d.minute / 1440;
        let mod_minute = d.minute % 1440;
        middle.clear();
        middle.push(b',');
        middle.extend_from_slice(&ctx.cal.date[day as usize]);
        let (h, m) = (mod_minute / 60, mod_minute % 60);
        middle.extend_from_slice(&[
            b' ',
            b'0' + (h / 10) as u8,
            b'0' + (h % 10) as u8,
            b':',
            b'0' + (m / 10) as u8,
            b'0' + (m % 10) as u8,
            b':',
            b'0',
            b'0',
            b',',
        ]);
        suffix.clear();
        suffix.push(b',');
        if d.customer_id != 0 {
            push_uint(&mut suffix, u64::from(d.customer_id));
            suffix.extend_from_slice(b".0");
        }
        suffix.push(b',');
        push_field(&mut suffix, COUNTRIES[d.country as usize].0);
        suffix.push(b'\n');

        let len = d.len as usize;
        counts.invoice(d);
        for l in &lines[d.first as usize..d.first as usize + len] {
            buf.extend_from_slice(&prefix);
            let (with, without) = &items[l.item as usize];
            buf.extend_from_slice(if l.no_description { without } else { with });
            push_int(&mut buf, i64::from(l.qty));
            buf.extend_from_slice(&middle);
            push_price(&mut buf, l.price_milli);
            buf.extend_from_slice(&suffix);
            counts.line(l, products);
        }
    }
    (buf, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_written_like_python_floats() {
        let cases = [
            (2_550, "2.55"),
            (15_000, "15.0"),
            (2_500, "2.5"),
            (1, "0.001"),
            (0, "0.0"),
            (-11_062_060, "-11062.06"),
            (420, "0.42"),
            (12_345, "12.345"),
        ];
        for (milli, want) in cases {
            let mut buf = Vec::new();
            push_price(&mut buf, milli);
            assert_eq!(String::from_utf8(buf).unwrap(), want);
        }
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let mut buf = Vec::new();
        push_field(&mut buf, "PHOTO FRAME 7\" X 5\"");
        buf.push(b'|');
        push_field(&mut buf, "TRAY, BREAKFAST IN BED");
        buf.push(b'|');
        push_field(&mut buf, "POPPY'S PLAYHOUSE ");
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "\"PHOTO FRAME 7\"\" X 5\"\"\"|\"TRAY, BREAKFAST IN BED\"|POPPY'S PLAYHOUSE "
        );
    }
}
