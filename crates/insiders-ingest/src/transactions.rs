//! Invoice lines in memory: columnar, with repeated strings interned; which columns the
//! data had ([`Present`]), and the orders derived for data without invoice numbers.

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

/// Which columns the data had. The customer id and the date are always there; the revenue
/// of a line is quantity x unit price, or the amount where there is an amount column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Present {
    /// Invoice numbers (without them, orders are derived: see [`Transactions::derive_invoices`]).
    pub invoice: bool,
    pub stock_code: bool,
    pub description: bool,
    pub quantity: bool,
    pub unit_price: bool,
    pub country: bool,
    /// An amount per line (the line's revenue).
    pub amount: bool,
}

impl Default for Present {
    /// The published copies: every column but an amount.
    fn default() -> Self {
        Present {
            invoice: true,
            stock_code: true,
            description: true,
            quantity: true,
            unit_price: true,
            country: true,
            amount: false,
        }
    }
}

/// Invoice lines, one entry per line in every column (structure of arrays).
///
/// Timestamps are seconds since 1970-01-01 in the shop's local time (no time zone).
/// A missing customer id is `None`; a missing description is the empty string. Columns the
/// data does not have ([`Present`]) hold placeholders that nothing may read as values: the
/// empty string (stock code, description, country), quantity 0, unit price NaN; `amount`
/// is empty unless the data has an amount column.
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
    /// The amount (revenue) of each line when the data has an amount column; else empty.
    pub amount: Vec<f64>,
    /// Which columns the data had.
    pub present: Present,
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
    /// The line's amount, when the data has an amount column.
    pub amount: Option<f64>,
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
        if self.present.amount {
            self.amount.reserve(additional);
        }
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
        if let Some(a) = l.amount {
            self.amount.push(a);
        }
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
        self.amount.extend_from_slice(&other.amount);
    }

    /// The revenue of line `i`: its amount where the data has an amount column, else
    /// quantity x unit price.
    #[inline]
    pub fn revenue(&self, i: usize) -> f64 {
        if self.present.amount {
            self.amount.get(i).copied().unwrap_or(f64::NAN)
        } else {
            self.quantity[i] as f64 * self.unit_price[i]
        }
    }

    /// Whether line `i` is a return: a negative quantity, or, where the data has no
    /// quantity, a negative amount.
    #[inline]
    pub fn is_return(&self, i: usize) -> bool {
        if self.present.quantity {
            self.quantity[i] < 0
        } else {
            self.amount.get(i).is_some_and(|&a| a < 0.0)
        }
    }

    /// Derives invoice numbers for data without them: a customer's lines at one timestamp
    /// form one order, numbered `<customer id>@<YYYY-MM-DD HH:MM:SS>`; lines without a
    /// customer id at one timestamp form one anonymous order, `anonymous@<timestamp>`. The
    /// numbers are interned in order of first appearance, so the result depends only on the
    /// lines (not on file order within an order, nor on the thread count).
    pub fn derive_invoices(&mut self) {
        let mut invoices = Interner::default();
        let mut seen: rustc_hash::FxHashMap<(Option<u32>, i64), u32> =
            rustc_hash::FxHashMap::default();
        let mut last: Option<((Option<u32>, i64), u32)> = None;
        for i in 0..self.len() {
            let key = (self.customer_id[i], self.timestamp[i]);
            let id = match last {
                Some((k, id)) if k == key => id,
                _ => *seen.entry(key).or_insert_with(|| {
                    let who = key.0.map_or("anonymous".to_string(), |c| c.to_string());
                    invoices.intern(&format!("{who}@{}", crate::date::format_timestamp(key.1)))
                }),
            };
            last = Some((key, id));
            self.invoice[i] = id;
        }
        self.invoices = invoices;
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
            amount: None,
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

    #[test]
    fn derived_invoices_are_one_per_customer_and_timestamp() {
        let mut t = Transactions::default();
        let at = |c: Option<u32>, ts: i64| Line {
            customer_id: c,
            timestamp: ts,
            ..line("", "")
        };
        for l in [
            at(Some(7), 0),
            at(Some(7), 0),
            at(None, 0),
            at(Some(8), 0),
            at(Some(7), 86_400),
            at(None, 0),
            at(Some(7), 0),
        ] {
            t.push(&l);
        }
        t.derive_invoices();
        assert_eq!(t.invoice, vec![0, 0, 1, 2, 3, 1, 0]);
        let names: Vec<&str> = t.invoices.strings().collect();
        assert_eq!(
            names,
            [
                "7@1970-01-01 00:00:00",
                "anonymous@1970-01-01 00:00:00",
                "8@1970-01-01 00:00:00",
                "7@1970-01-02 00:00:00"
            ]
        );
    }
}
