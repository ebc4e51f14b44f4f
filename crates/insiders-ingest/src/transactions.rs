//! Invoice lines in memory: columnar, with repeated strings interned; which columns the
//! data had ([`Present`]), and the orders derived for data without invoice numbers.

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

/// A string interner: each distinct string gets a `u32` id, in order of first appearance.
///
/// The strings are stored once, one after another in one buffer (no allocation per
/// string: millions of invoice numbers cost their bytes and an offset each); the table
/// holds only ids. The last id returned is remembered: invoice lines come grouped by
/// invoice, so consecutive calls often ask for the same string, which then costs one
/// comparison instead of a hash lookup.
#[derive(Debug, Clone)]
pub struct Interner {
    table: HashTable<u32>,
    /// Every string, in id order.
    bytes: String,
    /// Where string `id` starts in `bytes` (`starts[id]`) and ends (`starts[id + 1]`).
    starts: Vec<usize>,
    /// The id returned by the last `intern` call (meaningless while empty).
    last: u32,
}

impl Default for Interner {
    fn default() -> Self {
        Interner {
            table: HashTable::new(),
            bytes: String::new(),
            starts: vec![0],
            last: 0,
        }
    }
}

/// String `id` of an interner's buffer and offsets (`None` for an unknown id).
#[inline]
fn stored<'a>(bytes: &'a str, starts: &[usize], id: u32) -> Option<&'a str> {
    let id = id as usize;
    let (&from, &to) = (starts.get(id)?, starts.get(id + 1)?);
    bytes.get(from..to)
}

impl Interner {
    /// The id of `s`, adding it if new.
    pub fn intern(&mut self, s: &str) -> u32 {
        if stored(&self.bytes, &self.starts, self.last) == Some(s) {
            return self.last;
        }
        let hash = FxBuildHasher.hash_one(s);
        let (bytes, starts) = (&mut self.bytes, &mut self.starts);
        let id = match self
            .table
            .find(hash, |&id| stored(bytes, starts, id) == Some(s))
        {
            Some(&id) => id,
            None => {
                let id = (starts.len() - 1) as u32;
                bytes.push_str(s);
                starts.push(bytes.len());
                let (bytes, starts) = (&*bytes, &*starts);
                self.table.insert_unique(hash, id, |&id| {
                    FxBuildHasher.hash_one(stored(bytes, starts, id).unwrap_or_default())
                });
                id
            }
        };
        self.last = id;
        id
    }

    /// Makes room for `additional` more strings in the table.
    pub fn reserve(&mut self, additional: usize) {
        let (bytes, starts) = (&self.bytes, &self.starts);
        self.table.reserve(additional, |&id| {
            FxBuildHasher.hash_one(stored(bytes, starts, id).unwrap_or_default())
        });
    }

    /// The id of `s`, if interned.
    pub fn get(&self, s: &str) -> Option<u32> {
        let hash = FxBuildHasher.hash_one(s);
        self.table
            .find(hash, |&id| stored(&self.bytes, &self.starts, id) == Some(s))
            .copied()
    }

    /// The string of an id.
    ///
    /// # Panics
    /// If the id did not come from this interner.
    pub fn resolve(&self, id: u32) -> &str {
        match stored(&self.bytes, &self.starts, id) {
            Some(s) => s,
            None => panic!("interned id {id} out of range"),
        }
    }

    /// Number of distinct strings.
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Whether no string was interned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All strings in id order.
    pub fn strings(&self) -> impl Iterator<Item = &str> {
        self.starts
            .windows(2)
            .map(|w| self.bytes.get(w[0]..w[1]).unwrap_or_default())
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

/// Invoice lines in compact columns.
///
/// Lines come grouped: consecutive lines of one invoice share the invoice number, the
/// customer, the date and the country. Such a group is a *run*: those four values are stored
/// once per run, and each line keeps only what is its own: its run, stock code, description,
/// quantity and unit price (an id into the distinct prices), 20 bytes a line. Runs need not be
/// maximal (two adjacent runs may hold equal values), so any file order is exact.
///
/// Timestamps are seconds since 1970-01-01 in the shop's local time (no time zone). Columns
/// the data does not have ([`Present`]) read as placeholders that nothing may use as values:
/// the empty string (stock code, description, country), quantity 0, unit price NaN; the
/// amount is `None` unless the data has an amount column.
#[derive(Debug, Clone, Default)]
pub struct Transactions {
    /// Whether descriptions are dropped (then `desc` stays empty).
    no_descriptions: bool,
    // Per line.
    run: Vec<u32>,
    stock: Vec<u32>,
    desc: Vec<u32>,
    /// `i32::MIN` marks a quantity outside `i32` (then in `wide_qty`).
    qty: Vec<i32>,
    price: Vec<u32>,
    amount: Vec<f64>,
    wide_qty: rustc_hash::FxHashMap<u32, i64>,
    // Per run.
    run_invoice: Vec<u32>,
    run_customer: Vec<u32>,
    run_timestamp: Vec<i64>,
    run_country: Vec<u32>,
    /// Distinct unit prices (by bit pattern), in order of first appearance.
    prices: Vec<f64>,
    price_ids: rustc_hash::FxHashMap<u64, u32>,
    /// Recently seen prices (bit pattern, id), by a hash of the bits: most lines find their
    /// price here without a map lookup. Empty until the first price.
    price_cache: Vec<(u64, u32)>,
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

/// log2 of the number of entries of the price cache.
const PRICE_CACHE_BITS: u32 = 12;

/// The stored customer of a run without one.
const NO_CUSTOMER: u32 = u32::MAX;

/// Grows `v` for `extra` more items by at least a quarter of its size (not the doubling of
/// `Vec::push`), so a large column wastes at most a fifth of its memory.
fn grow<T>(v: &mut Vec<T>, extra: usize) {
    if v.capacity() - v.len() < extra {
        v.reserve_exact(extra.max(v.len() / 4).max(1024));
    }
}

impl Transactions {
    /// An empty store that drops descriptions (`description(i)` is then the empty string's
    /// id, 0, and `descriptions` holds only it).
    pub fn without_descriptions() -> Self {
        let mut t = Transactions {
            no_descriptions: true,
            ..Default::default()
        };
        t.descriptions.intern("");
        t
    }

    /// An empty store that keeps descriptions or not.
    pub fn for_descriptions(keep: bool) -> Self {
        if keep {
            Transactions::default()
        } else {
            Transactions::without_descriptions()
        }
    }

    /// Whether descriptions are kept.
    pub fn has_descriptions(&self) -> bool {
        !self.no_descriptions
    }

    /// Gives back the room reserved for growth.
    pub fn shrink_to_fit(&mut self) {
        self.run.shrink_to_fit();
        self.stock.shrink_to_fit();
        self.desc.shrink_to_fit();
        self.qty.shrink_to_fit();
        self.price.shrink_to_fit();
        self.amount.shrink_to_fit();
        self.run_invoice.shrink_to_fit();
        self.run_customer.shrink_to_fit();
        self.run_timestamp.shrink_to_fit();
        self.run_country.shrink_to_fit();
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.run.len()
    }

    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.run.is_empty()
    }

    /// Number of runs (groups of consecutive lines sharing invoice, customer, date, country).
    pub fn runs(&self) -> usize {
        self.run_invoice.len()
    }

    /// Bytes held by the columns (capacity, not length: what the process pays).
    pub fn heap_bytes(&self) -> usize {
        4 * (self.run.capacity()
            + self.stock.capacity()
            + self.desc.capacity()
            + self.qty.capacity()
            + self.price.capacity()
            + self.run_invoice.capacity()
            + self.run_customer.capacity()
            + self.run_country.capacity())
            + 8 * (self.amount.capacity() + self.run_timestamp.capacity() + self.prices.capacity())
    }

    /// Reserves room for `additional` more lines.
    pub fn reserve(&mut self, additional: usize) {
        self.run.reserve_exact(additional);
        self.stock.reserve_exact(additional);
        self.desc.reserve_exact(additional);
        self.qty.reserve_exact(additional);
        self.price.reserve_exact(additional);
        if self.present.amount {
            self.amount.reserve_exact(additional);
        }
    }

    #[inline]
    fn price_id(&mut self, p: f64) -> u32 {
        let bits = p.to_bits();
        let slot = (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - PRICE_CACHE_BITS)) as usize;
        if let Some(&(b, id)) = self.price_cache.get(slot)
            && b == bits
            && id != u32::MAX
        {
            return id;
        }
        let id = self.price_id_slow(bits, p);
        if self.price_cache.is_empty() {
            self.price_cache = vec![(0, u32::MAX); 1 << PRICE_CACHE_BITS];
        }
        self.price_cache[slot] = (bits, id);
        id
    }

    fn price_id_slow(&mut self, bits: u64, p: f64) -> u32 {
        if let Some(&id) = self.price_ids.get(&bits) {
            return id;
        }
        let id = self.prices.len() as u32;
        self.prices.push(p);
        self.price_ids.insert(bits, id);
        id
    }

    fn push_run(&mut self, invoice: u32, customer: u32, timestamp: i64, country: u32) -> u32 {
        let n = self.run_invoice.len();
        if n > 0
            && self.run_invoice[n - 1] == invoice
            && self.run_customer[n - 1] == customer
            && self.run_timestamp[n - 1] == timestamp
            && self.run_country[n - 1] == country
        {
            return (n - 1) as u32;
        }
        grow(&mut self.run_invoice, 1);
        grow(&mut self.run_customer, 1);
        grow(&mut self.run_timestamp, 1);
        grow(&mut self.run_country, 1);
        self.run_invoice.push(invoice);
        self.run_customer.push(customer);
        self.run_timestamp.push(timestamp);
        self.run_country.push(country);
        n as u32
    }

    fn push_qty(&mut self, q: i64) {
        match i32::try_from(q) {
            Ok(v) if v != i32::MIN => self.qty.push(v),
            _ => {
                self.wide_qty.insert(self.qty.len() as u32, q);
                self.qty.push(i32::MIN);
            }
        }
    }

    /// Appends one line.
    pub fn push(&mut self, l: &Line<'_>) {
        let invoice = self.invoices.intern(l.invoice);
        let country = self.countries.intern(l.country);
        let run = self.run_for(invoice, l.customer_id, l.timestamp, country);
        self.push_in_run(run, l.stock_code, l.description, l.quantity, l.unit_price);
        if let Some(a) = l.amount {
            self.amount.push(a);
        }
    }

    /// The run of a line with these values (interned invoice and country ids): the last run
    /// when its values are these, else a new one. With [`Transactions::push_in_run`], what
    /// [`Transactions::push`] does for a line without an amount.
    #[inline]
    pub(crate) fn run_for(
        &mut self,
        invoice: u32,
        customer: Option<u32>,
        timestamp: i64,
        country: u32,
    ) -> u32 {
        self.push_run(invoice, customer.unwrap_or(NO_CUSTOMER), timestamp, country)
    }

    /// Appends a line of run `run` (from [`Transactions::run_for`]), without an amount.
    #[inline]
    pub(crate) fn push_in_run(
        &mut self,
        run: u32,
        stock_code: &str,
        description: &str,
        quantity: i64,
        unit_price: f64,
    ) {
        let stock = self.stock_codes.intern(stock_code);
        let desc = if self.no_descriptions {
            0
        } else {
            self.descriptions.intern(description)
        };
        self.push_ids(run, stock, desc, quantity, unit_price);
    }

    /// Appends a line of run `run` with interned stock code and description ids (the
    /// description is ignored when descriptions are dropped), without an amount.
    #[inline]
    pub(crate) fn push_ids(
        &mut self,
        run: u32,
        stock: u32,
        description: u32,
        quantity: i64,
        unit_price: f64,
    ) {
        let price = self.price_id(unit_price);
        if !self.no_descriptions {
            self.desc.push(description);
        }
        self.run.push(run);
        self.stock.push(stock);
        self.push_qty(quantity);
        self.price.push(price);
    }

    /// Appends all lines of `other` (re-interning its strings), keeping their order.
    pub fn append(&mut self, other: &Transactions) {
        let remap = |into: &mut Interner, from: &Interner| -> Vec<u32> {
            from.strings().map(|s| into.intern(s)).collect()
        };
        let inv = remap(&mut self.invoices, &other.invoices);
        let sc = remap(&mut self.stock_codes, &other.stock_codes);
        let de = if self.no_descriptions {
            Vec::new()
        } else {
            remap(&mut self.descriptions, &other.descriptions)
        };
        let co = remap(&mut self.countries, &other.countries);
        let pr: Vec<u32> = other.prices.iter().map(|&p| self.price_id(p)).collect();
        let n = other.len();
        let first_line = self.len() as u32;
        for v in [
            &mut self.run,
            &mut self.stock,
            &mut self.desc,
            &mut self.price,
        ] {
            grow(v, n);
        }
        grow(&mut self.qty, n);
        grow(&mut self.amount, other.amount.len());
        // Runs (the first may continue our last one).
        let mut run_map = Vec::with_capacity(other.runs());
        for r in 0..other.runs() {
            run_map.push(self.push_run(
                inv[other.run_invoice[r] as usize],
                other.run_customer[r],
                other.run_timestamp[r],
                co[other.run_country[r] as usize],
            ));
        }
        self.run
            .extend(other.run.iter().map(|&r| run_map[r as usize]));
        self.stock
            .extend(other.stock.iter().map(|&i| sc[i as usize]));
        if !self.no_descriptions {
            self.desc.extend(other.desc.iter().map(|&i| de[i as usize]));
        }
        self.price
            .extend(other.price.iter().map(|&i| pr[i as usize]));
        self.qty.extend_from_slice(&other.qty);
        for (&k, &v) in &other.wide_qty {
            self.wide_qty.insert(first_line + k, v);
        }
        self.amount.extend_from_slice(&other.amount);
    }

    /// The run of line `i` (runs are numbered in file order).
    #[inline]
    pub fn run_of(&self, i: usize) -> usize {
        self.run[i] as usize
    }

    /// Invoice number id of run `r`.
    #[inline]
    pub fn run_invoice(&self, r: usize) -> u32 {
        self.run_invoice[r]
    }

    /// Customer id of run `r`, if any.
    #[inline]
    pub fn run_customer(&self, r: usize) -> Option<u32> {
        match self.run_customer[r] {
            NO_CUSTOMER => None,
            c => Some(c),
        }
    }

    /// Invoice date-time of run `r`, seconds since the epoch.
    #[inline]
    pub fn run_timestamp(&self, r: usize) -> i64 {
        self.run_timestamp[r]
    }

    /// Country id of run `r` (see `countries`).
    #[inline]
    pub fn run_country(&self, r: usize) -> u32 {
        self.run_country[r]
    }

    /// Invoice number id of line `i` (see `invoices`).
    #[inline]
    pub fn invoice(&self, i: usize) -> u32 {
        self.run_invoice[self.run[i] as usize]
    }

    /// Stock code id of line `i` (see `stock_codes`).
    #[inline]
    pub fn stock_code(&self, i: usize) -> u32 {
        self.stock[i]
    }

    /// Description id of line `i` (see `descriptions`).
    #[inline]
    pub fn description(&self, i: usize) -> u32 {
        self.desc.get(i).copied().unwrap_or(0)
    }

    /// Quantity of line `i` (negative for returns).
    #[inline]
    pub fn quantity(&self, i: usize) -> i64 {
        match self.qty[i] {
            i32::MIN => self.wide_qty.get(&(i as u32)).copied().unwrap_or(0),
            q => i64::from(q),
        }
    }

    /// Invoice date-time of line `i`, seconds since the epoch.
    #[inline]
    pub fn timestamp(&self, i: usize) -> i64 {
        self.run_timestamp[self.run[i] as usize]
    }

    /// Unit price of line `i`.
    #[inline]
    pub fn unit_price(&self, i: usize) -> f64 {
        self.prices[self.price[i] as usize]
    }

    /// Customer id of line `i`, if any.
    #[inline]
    pub fn customer_id(&self, i: usize) -> Option<u32> {
        match self.run_customer[self.run[i] as usize] {
            NO_CUSTOMER => None,
            c => Some(c),
        }
    }

    /// Country id of line `i` (see `countries`).
    #[inline]
    pub fn country(&self, i: usize) -> u32 {
        self.run_country[self.run[i] as usize]
    }

    /// The amount of line `i`, when the data has an amount column.
    #[inline]
    pub fn amount(&self, i: usize) -> Option<f64> {
        self.amount.get(i).copied()
    }

    /// One value of every line, in order: `t.column(Transactions::quantity)`.
    pub fn column<T>(&self, f: impl Fn(&Self, usize) -> T) -> Vec<T> {
        (0..self.len()).map(|i| f(self, i)).collect()
    }

    /// The revenue of line `i`: its amount where the data has an amount column, else
    /// quantity x unit price.
    #[inline]
    pub fn revenue(&self, i: usize) -> f64 {
        if self.present.amount {
            self.amount.get(i).copied().unwrap_or(f64::NAN)
        } else {
            self.quantity(i) as f64 * self.unit_price(i)
        }
    }

    /// Whether line `i` is a return: a negative quantity, or, where the data has no
    /// quantity, a negative amount.
    #[inline]
    pub fn is_return(&self, i: usize) -> bool {
        if self.present.quantity {
            match self.qty[i] {
                i32::MIN => self.quantity(i) < 0,
                q => q < 0,
            }
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
        let mut seen: rustc_hash::FxHashMap<(u32, i64), u32> = rustc_hash::FxHashMap::default();
        let mut last: Option<((u32, i64), u32)> = None;
        for r in 0..self.runs() {
            let key = (self.run_customer[r], self.run_timestamp[r]);
            let id = match last {
                Some((k, id)) if k == key => id,
                _ => *seen.entry(key).or_insert_with(|| {
                    let who = match key.0 {
                        NO_CUSTOMER => "anonymous".to_string(),
                        c => c.to_string(),
                    };
                    invoices.intern(&format!("{who}@{}", crate::date::format_timestamp(key.1)))
                }),
            };
            last = Some((key, id));
            self.run_invoice[r] = id;
        }
        self.invoices = invoices;
    }

    /// Whether line `i` belongs to a cancellation invoice (number starting with `C`).
    pub fn is_cancellation(&self, i: usize) -> bool {
        self.invoices.resolve(self.invoice(i)).starts_with('C')
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
        assert_eq!(a.column(Transactions::invoice), vec![0, 1, 0]);
        assert_eq!(a.invoices.resolve(1), "2");
        assert_eq!(a.column(Transactions::stock_code), vec![0, 1, 0]);
        assert_eq!(a.column(Transactions::country), vec![0, 0, 0]);
        assert_eq!(a.runs(), 3);
    }

    #[test]
    fn quantities_beyond_i32_and_repeated_prices_are_exact() {
        let mut t = Transactions::default();
        for (q, p) in [
            (5, 2.55),
            (i64::from(i32::MAX) + 7, 2.55),
            (i64::from(i32::MIN), 0.1),
            (-3, 2.55),
        ] {
            t.push(&Line {
                quantity: q,
                unit_price: p,
                ..line("1", "X")
            });
        }
        let mut u = Transactions::default();
        u.push(&line("1", "X"));
        u.append(&t);
        assert_eq!(
            u.column(Transactions::quantity),
            vec![1, 5, i64::from(i32::MAX) + 7, i64::from(i32::MIN), -3]
        );
        assert_eq!(
            u.column(Transactions::unit_price),
            vec![1.0, 2.55, 2.55, 0.1, 2.55]
        );
        assert!(u.is_return(3) && u.is_return(4) && !u.is_return(2));
        assert_eq!(u.prices.len(), 3);
        // One invoice, customer, date and country: one run.
        assert_eq!(u.runs(), 1);
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
        assert_eq!(t.column(Transactions::invoice), vec![0, 0, 1, 2, 3, 1, 0]);
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
