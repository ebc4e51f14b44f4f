//! A quote-aware CSV record splitter over an in-memory buffer.
//!
//! It follows the grammar of the `csv` crate's default reader (RFC 4180 with its usual
//! leniencies) byte for byte: records end at `\n`, `\r` or `\r\n`; empty lines are skipped;
//! a field that starts with `"` is quoted, `""` inside it is one quote, and text after the
//! closing quote is appended as is (`"a"b` is `ab`); a quote inside an unquoted field is an
//! ordinary character; an unterminated quoted field runs to the end of the input; a trailing
//! delimiter makes a last empty field. The unit tests compare it with the `csv` crate on
//! random inputs.
//!
//! Unlike a streaming reader it does not copy fields: a field is a range of the input, except
//! a quoted field with `""` or text after its closing quote, which is unescaped into the
//! record's scratch buffer. Each record carries the physical line (1-based, counting `\n`,
//! also inside quoted fields) of its first byte.
//!
//! With [`Delim::Blanks`] (`delimiter = "whitespace"`) fields are separated by runs of
//! spaces and tabs instead, blanks at the start and end of a line are ignored, lines of
//! blanks are skipped, and quotes are ordinary characters.

use memchr::{memchr, memchr3};

/// How fields are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delim {
    /// One byte, with CSV quoting.
    Byte(u8),
    /// Runs of spaces and tabs, no quoting.
    Blanks,
}

/// Where a field's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldRange {
    start: usize,
    end: usize,
    /// In the record's scratch buffer rather than the input.
    scratch: bool,
}

/// One record: its fields and the line it starts on.
#[derive(Debug, Default, Clone)]
pub(crate) struct Record {
    fields: Vec<FieldRange>,
    scratch: Vec<u8>,
    line: u64,
}

impl Record {
    /// Number of fields.
    pub(crate) fn len(&self) -> usize {
        self.fields.len()
    }

    /// The physical line of the record's first byte.
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// The input range of field `i`, unless the field is in the scratch buffer.
    pub(crate) fn in_input(&self, i: usize) -> Option<(usize, usize)> {
        self.fields
            .get(i)
            .filter(|f| !f.scratch)
            .map(|f| (f.start, f.end))
    }

    /// The bytes of field `i` (`data` is the input the record was split from).
    pub(crate) fn get<'a>(&'a self, data: &'a [u8], i: usize) -> Option<&'a [u8]> {
        let f = self.fields.get(i)?;
        if f.scratch {
            self.scratch.get(f.start..f.end)
        } else {
            data.get(f.start..f.end)
        }
    }

    /// All fields, in order.
    pub(crate) fn iter<'a>(&'a self, data: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        (0..self.len()).map(move |i| self.get(data, i).unwrap_or(b""))
    }
}

/// Splits a buffer into records.
#[derive(Debug)]
pub(crate) struct Splitter<'a> {
    data: &'a [u8],
    pos: usize,
    line: u64,
    delim: u8,
    blanks: bool,
}

const BOM: &[u8] = b"\xef\xbb\xbf";

impl<'a> Splitter<'a> {
    /// A splitter over `data`, whose first byte is on line `first_line`. The delimiter must
    /// not be `"`, `\n` or `\r` (the reader refuses those).
    pub(crate) fn new(data: &'a [u8], first_line: u64, delim: Delim) -> Self {
        let (delim, blanks) = match delim {
            Delim::Byte(b) => (b, false),
            Delim::Blanks => (b' ', true),
        };
        Splitter {
            data,
            pos: 0,
            line: first_line,
            delim,
            blanks,
        }
    }

    /// Skips a UTF-8 byte order mark at the current position (the start of a file).
    pub(crate) fn skip_bom(&mut self) {
        if self.data[self.pos..].starts_with(BOM) {
            self.pos += BOM.len();
        }
    }

    /// Byte offset just after the last record read (and its terminator).
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The line of [`Splitter::position`].
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    fn count_lines(&mut self, from: usize, to: usize) {
        self.line += memchr::memchr_iter(b'\n', &self.data[from..to]).count() as u64;
    }

    /// Consumes the terminator at `at` (`\n`, `\r` or `\r\n`).
    fn end_record(&mut self, at: usize) {
        let d = self.data;
        self.pos = at + 1;
        if d[at] == b'\n' {
            self.line += 1;
        } else if d.get(self.pos) == Some(&b'\n') {
            self.pos += 1;
            self.line += 1;
        }
    }

    /// Reads the next record into `rec`; `false` at the end of the input.
    pub(crate) fn next_record(&mut self, rec: &mut Record) -> bool {
        if self.blanks {
            return self.next_blank_separated(rec);
        }
        let d = self.data;
        let len = d.len();
        while self.pos < len && (d[self.pos] == b'\n' || d[self.pos] == b'\r') {
            self.line += u64::from(d[self.pos] == b'\n');
            self.pos += 1;
        }
        if self.pos >= len {
            return false;
        }
        rec.fields.clear();
        rec.scratch.clear();
        rec.line = self.line;
        let delim = self.delim;
        loop {
            // At the start of a field.
            let start = self.pos;
            if start < len && d[start] == b'"' {
                if self.quoted_field(rec) {
                    return true;
                }
                continue;
            }
            match memchr3(delim, b'\n', b'\r', &d[start..]) {
                None => {
                    rec.fields.push(FieldRange {
                        start,
                        end: len,
                        scratch: false,
                    });
                    self.pos = len;
                    return true;
                }
                Some(off) => {
                    let at = start + off;
                    rec.fields.push(FieldRange {
                        start,
                        end: at,
                        scratch: false,
                    });
                    if d[at] == delim {
                        self.pos = at + 1;
                    } else {
                        self.end_record(at);
                        return true;
                    }
                }
            }
        }
    }

    /// [`Splitter::next_record`] for fields separated by runs of spaces and tabs.
    fn next_blank_separated(&mut self, rec: &mut Record) -> bool {
        let d = self.data;
        let len = d.len();
        let blank = |c: u8| c == b' ' || c == b'\t';
        // Line ends, and blanks before a record's first field (or on lines of blanks).
        while self.pos < len && (blank(d[self.pos]) || d[self.pos] == b'\n' || d[self.pos] == b'\r')
        {
            self.line += u64::from(d[self.pos] == b'\n');
            self.pos += 1;
        }
        if self.pos >= len {
            return false;
        }
        rec.fields.clear();
        rec.scratch.clear();
        rec.line = self.line;
        loop {
            let start = self.pos;
            let end = d[start..]
                .iter()
                .position(|&c| blank(c) || c == b'\n' || c == b'\r')
                .map_or(len, |o| start + o);
            rec.fields.push(FieldRange {
                start,
                end,
                scratch: false,
            });
            self.pos = end;
            while self.pos < len && blank(d[self.pos]) {
                self.pos += 1;
            }
            if self.pos >= len {
                return true;
            }
            if d[self.pos] == b'\n' || d[self.pos] == b'\r' {
                self.end_record(self.pos);
                return true;
            }
        }
    }

    /// Reads a quoted field starting at `self.pos` (on its opening quote). Returns whether the
    /// record ended with it.
    fn quoted_field(&mut self, rec: &mut Record) -> bool {
        let d = self.data;
        let len = d.len();
        let delim = self.delim;
        let content = self.pos + 1;
        let mut i = content;
        // Set once the field needs unescaping: its start in the scratch buffer.
        let mut scratch_start: Option<usize> = None;
        loop {
            let Some(off) = memchr(b'"', &d[i..]) else {
                // Unterminated: the field runs to the end of the input.
                self.count_lines(i, len);
                self.push_quoted(rec, content, len, i, scratch_start);
                self.pos = len;
                return true;
            };
            let q = i + off;
            self.count_lines(i, q);
            match d.get(q + 1).copied() {
                Some(b'"') => {
                    // An escaped quote: keep one.
                    match scratch_start {
                        None => {
                            scratch_start = Some(rec.scratch.len());
                            rec.scratch.extend_from_slice(&d[content..=q]);
                        }
                        Some(_) => rec.scratch.extend_from_slice(&d[i..=q]),
                    }
                    i = q + 2;
                }
                None => {
                    self.push_quoted(rec, content, q, i, scratch_start);
                    self.pos = len;
                    return true;
                }
                Some(c) if c == delim => {
                    self.push_quoted(rec, content, q, i, scratch_start);
                    self.pos = q + 2;
                    return false;
                }
                Some(b'\n' | b'\r') => {
                    self.push_quoted(rec, content, q, i, scratch_start);
                    self.end_record(q + 1);
                    return true;
                }
                Some(_) => {
                    // Text after the closing quote: appended up to the end of the field,
                    // quotes included.
                    let s0 = match scratch_start {
                        None => {
                            let s0 = rec.scratch.len();
                            rec.scratch.extend_from_slice(&d[content..q]);
                            s0
                        }
                        Some(s0) => {
                            rec.scratch.extend_from_slice(&d[i..q]);
                            s0
                        }
                    };
                    let after = q + 1;
                    let at = memchr3(delim, b'\n', b'\r', &d[after..]).map(|o| after + o);
                    let end = at.unwrap_or(len);
                    rec.scratch.extend_from_slice(&d[after..end]);
                    rec.fields.push(FieldRange {
                        start: s0,
                        end: rec.scratch.len(),
                        scratch: true,
                    });
                    return match at {
                        None => {
                            self.pos = len;
                            true
                        }
                        Some(a) if d[a] == delim => {
                            self.pos = a + 1;
                            false
                        }
                        Some(a) => {
                            self.end_record(a);
                            true
                        }
                    };
                }
            }
        }
    }

    /// Pushes a quoted field whose content is `d[content..end]`; `tail` is where the part not
    /// yet copied starts when the field is in the scratch buffer.
    fn push_quoted(
        &self,
        rec: &mut Record,
        content: usize,
        end: usize,
        tail: usize,
        scratch_start: Option<usize>,
    ) {
        let f = match scratch_start {
            None => FieldRange {
                start: content,
                end,
                scratch: false,
            },
            Some(s0) => {
                rec.scratch.extend_from_slice(&self.data[tail..end]);
                FieldRange {
                    start: s0,
                    end: rec.scratch.len(),
                    scratch: true,
                }
            }
        };
        rec.fields.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records (fields and line of the first byte) as the `csv` crate reads them.
    fn with_csv(data: &[u8], delim: u8) -> Vec<(Vec<Vec<u8>>, u64)> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delim)
            .from_reader(data);
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            // The csv crate reports the position where its read began (before skipped empty
            // lines); the physical line of the record is that of its first byte.
            let mut p = rec.position().unwrap().byte() as usize;
            while p < data.len() && (data[p] == b'\n' || data[p] == b'\r') {
                p += 1;
            }
            let line = 1 + data[..p].iter().filter(|&&b| b == b'\n').count() as u64;
            out.push((rec.iter().map(<[u8]>::to_vec).collect(), line));
        }
        out
    }

    fn with_splitter(data: &[u8], delim: u8) -> Vec<(Vec<Vec<u8>>, u64)> {
        let mut s = Splitter::new(data, 1, Delim::Byte(delim));
        let mut rec = Record::default();
        let mut out = Vec::new();
        while s.next_record(&mut rec) {
            out.push((rec.iter(data).map(<[u8]>::to_vec).collect(), rec.line()));
        }
        assert_eq!(s.position(), data.len());
        out
    }

    #[test]
    fn known_cases() {
        let cases: &[&[u8]] = &[
            b"a,b\n1,2\n",
            b"a,b\r\n1,2\r\n",
            b"a,b\r1,2",
            b"\n\na,b\n\n\n1,\n",
            b"\"x,y\",\"say \"\"hi\"\"\",z\n",
            b"\"ab\"cd,e\n\"q\"\"\"r\"s,t",
            b"a\"b,c\n",
            b"\"multi\nline\",2\n3,4\n",
            b"\"unterminated\n,x",
            b"a,",
            b",",
            b"\"\"",
            b"\"a\"",
            b"\"a\"\r\nb",
        ];
        for c in cases {
            assert_eq!(with_splitter(c, b','), with_csv(c, b','), "{:?}", c);
        }
    }

    #[test]
    fn equals_the_csv_crate_on_random_inputs() {
        let mut rng = insiders_core::Rng::new(11);
        let alphabet = b"ab ,;\"\n\r\t\xc3";
        for _ in 0..25_000 {
            let n = rng.below(30);
            let data: Vec<u8> = (0..n)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            for delim in [b',', b';', b'\t'] {
                assert_eq!(
                    with_splitter(&data, delim),
                    with_csv(&data, delim),
                    "{:?} delim {:?}",
                    String::from_utf8_lossy(&data),
                    delim as char
                );
            }
        }
    }

    #[test]
    fn lines_count_from_the_first_line_and_bom_is_skipped() {
        let data = b"\xef\xbb\xbfh1,h2\n\"a\nb\",1\n\nc,2\n";
        let mut s = Splitter::new(data, 1, Delim::Byte(b','));
        s.skip_bom();
        let mut rec = Record::default();
        assert!(s.next_record(&mut rec));
        assert_eq!(rec.get(data, 0), Some(&b"h1"[..]));
        assert_eq!(s.line(), 2);
        assert!(s.next_record(&mut rec));
        assert_eq!((rec.line(), rec.get(data, 0)), (2, Some(&b"a\nb"[..])));
        assert!(s.next_record(&mut rec));
        assert_eq!((rec.line(), rec.get(data, 0)), (5, Some(&b"c"[..])));
        assert!(!s.next_record(&mut rec));
    }

    #[test]
    fn blank_separated_fields() {
        let data = b" customer_id  date n\r\n 00001 19970101\t 1 \r\n\r\n  \t \n\"a b\" c\n x";
        let mut s = Splitter::new(data, 1, Delim::Blanks);
        let mut rec = Record::default();
        let mut out = Vec::new();
        while s.next_record(&mut rec) {
            let fields: Vec<String> = rec
                .iter(data)
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            out.push((rec.line(), fields));
        }
        let want: Vec<(u64, Vec<&str>)> = vec![
            (1, vec!["customer_id", "date", "n"]),
            (2, vec!["00001", "19970101", "1"]),
            (5, vec!["\"a", "b\"", "c"]),
            (6, vec!["x"]),
        ];
        let got: Vec<(u64, Vec<&str>)> = out
            .iter()
            .map(|(l, f)| (*l, f.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(s.position(), data.len());
    }
}
