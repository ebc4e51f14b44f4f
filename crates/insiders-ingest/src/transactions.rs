//! Invoice lines in memory: columnar, with repeated strings interned.

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

/// A string interner: each distinct string gets a `u32` id, in order of first appearance.
///
/// The table holds only ids; each string is stored once, in `strings`. The last id
/// returned is remembered: invoice lines come grouped by invoice, so consecutive calls often
/// ask for the same string, which then costs one comparison instead of a hash lookup.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    table: HashTable<u32>,
    strings: Vec<Box<str>>,
    /// The id returned by the last `intern` call (meaningless while `strings` is empty).
    last: u32,
}

impl Interner {
    /// The id of `s`, adding it if new.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(prev) = self.strings.get(self.last as usize)
            && **prev == *s
        {
            return self.last;
        }
        let hash = FxBuildHasher.hash_one(s);
        let strings = &mut self.strings;
        let id = match self.table.find(hash, |&id| *strings[id as usize] == *s) {
            Some(&id) => id,
            None => {
                let id = strings.len() as u32;
                strings.push(s.into());
                self.table.insert_unique(hash, id, |&id| {
                    FxBuildHasher.hash_one(&*strings[id as usize])
                });
                id
            }
        };
        self.last = id;
        id
    }

    /// The id of `s`, if interned.
    pub fn get(&self, s: &str) -> Option<u32> {
        let hash = FxBuildHasher.hash_one(s);
        self.table
            .find(hash, |&id| *self.strings[id as usize] == *s)
            .copied()
    }

    /// The string of an id.
    ///
    /// # Panics
    /// If the id did not come from this interner.
    pub fn resolve(&self, id: u32) -> &str {
        &self.strings[id as usize]
    }

    /// Number of distinct strings.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// Whether no string was interned.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }

    /// All strings in id order.
    pub fn strings(&self) -> impl Iterator<Item = &str> {
        self.strings.iter().map(|s| &**s)
    }
}

/// Invoice lines, one entry per line in every column (structure of arrays).
///
/// Timestamps are seconds since 1970-01-01 in the shop's local time (no time zone).
/// A missing customer id is `None`; a missing description is the empty string.
#[derive(Debug, Clone, Default)]
pub struct Transactions {
    /// Invoice number id (see `invoices`).
    pub invoice: Vec<u32>,
    /// Stock code id (see `stock_codes`).
    pub stock_code: Vec<u32>,
    /// Description id (see `descriptions`).
    pub description: Vec<u32>,
    /// Quantity (negative for returns).
    pub quantity: Vec<i64>,
    /// Invoice date-time, seconds since the epoch.
    pub timestamp: Vec<i64>,
    /// Unit price.
    pub unit_price: Vec<f64>,
    /// Customer id, if any.
    pub customer_id: Vec<Option<u32>>,
    /// Country id (see `countries`).
    pub country: Vec<u32>,
    /// Distinct invoice numbers.
    pub invoices: Interner,
    /// Distinct stock codes.
    pub stock_codes: Interner,
    /// Distinct descriptions.
    pub descriptions: Interner,
    /// Distinct countries.
    pub countries: Interner,
}

/// One invoice line, borrowed, as readers produce it.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub invoice: &'a str,
    pub stock_code: &'a str,
    pub description: &'a str,
    pub quantity: i64,
    pub timestamp: i64,
    pub unit_price: f64,
    pub customer_id: Option<u32>,
    pub country: &'a str,
}

impl Transactions {
    /// Number of lines.
    pub fn len(&self) -> usize {
        self.invoice.len()
    }

    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.invoice.is_empty()
    }

    /// Reserves room for `additional` more lines in every column.
    pub fn reserve(&mut self, additional: usize) {
        self.invoice.reserve(additional);
        self.stock_code.reserve(additional);
        self.description.reserve(additional);
        self.quantity.reserve(additional);
        self.timestamp.reserve(additional);
        self.unit_price.reserve(additional);
        self.customer_id.reserve(additional);
        self.country.reserve(additional);
    }

    /// Appends one line.
    pub fn push(&mut self, l: &Line<'_>) {
        self.invoice.push(self.invoices.intern(l.invoice));
        self.stock_code.push(self.stock_codes.intern(l.stock_code));
        self.description
            .push(self.descriptions.intern(l.description));
        self.quantity.push(l.quantity);
        self.timestamp.push(l.timestamp);
        self.unit_price.push(l.unit_price);
        self.customer_id.push(l.customer_id);
        self.country.push(self.countries.intern(l.country));
    }

    /// Appends all lines of `other` (re-interning its strings), keeping their order.
    pub fn append(&mut self, other: &Transactions) {
        let remap = |into: &mut Interner, from: &Interner| -> Vec<u32> {
            from.strings().map(|s| into.intern(s)).collect()
        };
        let inv = remap(&mut self.invoices, &other.invoices);
        let sc = remap(&mut self.stock_codes, &other.stock_codes);
        let de = remap(&mut self.descriptions, &other.descriptions);
        let co = remap(&mut self.countries, &other.countries);
        self.invoice
            .extend(other.invoice.iter().map(|&i| inv[i as usize]));
        self.stock_code
            .extend(other.stock_code.iter().map(|&i| sc[i as usize]));
        self.description
            .extend(other.description.iter().map(|&i| de[i as usize]));
        self.country
            .extend(other.country.iter().map(|&i| co[i as usize]));
        self.quantity.extend_from_slice(&other.quantity);
        self.timestamp.extend_from_slice(&other.timestamp);
        self.unit_price.extend_from_slice(&other.unit_price);
        self.customer_id.extend_from_slice(&other.customer_id);
    }

    /// Whether line `i` belongs to a cancellation invoice (number starting with `C`).
    pub fn is_cancellation(&self, i: usize) -> bool {
        self.invoices.resolve(self.invoice[i]).starts_with('C')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(inv: &'a str, sc: &'a str) -> Line<'a> {
        Line {
            invoice: inv,
            stock_code: sc,
            description: "",
            quantity: 1,
            timestamp: 0,
            unit_price: 1.0,
            customer_id: None,
            country: "UK",
        }
    }

    #[test]
    fn append_reinterns_in_order() {
        let mut a = Transactions::default();
        a.push(&line("1", "X"));
        let mut b = Transactions::default();
        b.push(&line("2", "Y"));
        b.push(&line("1", "X"));
        a.append(&b);
        assert_eq!(a.invoice, vec![0, 1, 0]);
        assert_eq!(a.invoices.resolve(1), "2");
        assert_eq!(a.stock_code, vec![0, 1, 0]);
        assert_eq!(a.country, vec![0, 0, 0]);
    }
}
