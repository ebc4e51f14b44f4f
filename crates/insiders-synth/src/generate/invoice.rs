//! Invoices before they are numbered: drafts (time, kind, customer, country, a range of
//! lines), their lines, what a customer stream reports about its customer, and the sink that
//! collects drafts and lines from one or more streams.

use crate::archetype::Archetype;

/// What kind of invoice a draft is: the prefix of its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Sale,
    Cancel,
    Adjust,
}

/// An invoice before it is numbered.
#[derive(Debug, Clone, Copy)]
pub(super) struct Draft {
    /// Minutes since 00:00 of the first day.
    pub(super) minute: u32,
    /// Source stream (customer index, or one of the extra streams) and ordinal in it: a
    /// total order for invoices of the same minute.
    pub(super) src: u32,
    pub(super) ord: u32,
    pub(super) kind: Kind,
    /// Customer id, or 0 for none.
    pub(super) customer_id: u32,
    pub(super) country: u16,
    /// Lines `first..first + len` of the line buffer.
    pub(super) first: u32,
    pub(super) len: u32,
}

impl Draft {
    /// The order of invoices in the file, in which they are numbered: by minute, then as the
    /// real data is sorted within a minute (by the invoice number as text: sales, whose
    /// numbers are digits, before `A` adjustments before `C` cancellations), then by source
    /// stream and ordinal. Within a minute the numbers therefore increase with the text, so the
    /// file is sorted by (time, invoice number as text) like the real data, and an invoice's
    /// first appearance in the file is the first in (earliest time, invoice number) order,
    /// whatever the file is split into.
    pub(super) fn order(&self) -> (u32, u8, u32, u32) {
        let text_rank = match self.kind {
            Kind::Sale => 0,
            Kind::Adjust => 1,
            Kind::Cancel => 2,
        };
        (self.minute, text_rank, self.src, self.ord)
    }
}

/// One invoice line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Line {
    pub(super) item: u32,
    pub(super) qty: i32,
    /// Unit price in thousandths of a pound (so 0.001 can be written).
    pub(super) price_milli: i64,
    /// Write an empty description (the real data's unexplained zero-price adjustments).
    pub(super) no_description: bool,
}

/// What the generator knows about a customer after its stream ran.
#[derive(Debug, Clone, Copy)]
pub(super) struct CustomerInfo {
    pub(super) id: u32,
    pub(super) archetype: Archetype,
    pub(super) country: u16,
    /// Active window (days), used to place junk lines of the operations stream.
    pub(super) lo: u32,
    pub(super) hi: u32,
}

/// Drafts and lines collected from all streams.
#[derive(Debug, Default)]
pub(super) struct Sink {
    pub(super) drafts: Vec<Draft>,
    pub(super) lines: Vec<Line>,
}

impl Sink {
    /// Appends another sink's invoices and lines (keeping its drafts' line ranges valid).
    pub(super) fn append(&mut self, other: Sink) {
        let offset = self.lines.len() as u32;
        self.lines.extend_from_slice(&other.lines);
        self.drafts.extend(other.drafts.into_iter().map(|d| Draft {
            first: d.first + offset,
            ..d
        }));
    }
}

/// Per-stream helper: pushes invoices with a running ordinal.
pub(super) struct Stream<'a> {
    pub(super) sink: &'a mut Sink,
    pub(super) src: u32,
    pub(super) ord: u32,
}

impl Stream<'_> {
    pub(super) fn push(
        &mut self,
        minute: u32,
        kind: Kind,
        customer_id: u32,
        country: u16,
        lines: &[Line],
    ) {
        if lines.is_empty() {
            return;
        }
        let first = self.sink.lines.len() as u32;
        self.sink.lines.extend_from_slice(lines);
        self.sink.drafts.push(Draft {
            minute,
            src: self.src,
            ord: self.ord,
            kind,
            customer_id,
            country,
            first,
            len: lines.len() as u32,
        });
        self.ord += 1;
    }
}
