//! End-to-end checks of the synthetic shop, computed from the generated CSV as a reader of
//! the file would see it (parsed with the `csv` crate).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use insiders_synth::{Archetype, BAD_USER_ID, Shop, ShopConfig, generate, write_truth_csv};

const HEADER: &str =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";
const JUNK: [&str; 13] = [
    "POST",
    "D",
    "DOT",
    "M",
    "S",
    "AMAZONFEE",
    "m",
    "DCGSSBOY",
    "DCGSSGIRL",
    "PADS",
    "B",
    "CRUK",
    "BANK CHARGES",
];

/// One parsed invoice line.
#[derive(Debug, Clone)]
struct Row {
    invoice: String,
    code: String,
    description: String,
    qty: i64,
    /// Days since 1970-01-01.
    day: i64,
    hour: u32,
    minute_of_day: u32,
    date_text: String,
    price: f64,
    customer: Option<u32>,
    country: String,
}

impl Row {
    fn is_product(&self) -> bool {
        !JUNK.contains(&self.code.as_str())
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = y - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses and validates one CSV; panics with the offending line on any format error.
fn parse(csv_bytes: &[u8]) -> Vec<Row> {
    let text = std::str::from_utf8(csv_bytes).expect("UTF-8");
    assert!(text.starts_with(&format!("{HEADER}\n")), "header");
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv_bytes);
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let r = rec.expect("csv record");
        assert_eq!(r.len(), 8, "{r:?}");
        let date = &r[4];
        let b = date.as_bytes();
        assert!(
            b.len() == 19
                && b[4] == b'-'
                && b[7] == b'-'
                && b[10] == b' '
                && b[13] == b':'
                && b[16] == b':'
                && &date[17..] == "00",
            "date {date}"
        );
        let num = |s: &str| s.parse::<i64>().unwrap_or_else(|_| panic!("date {date}"));
        let (y, mo, d) = (num(&date[..4]), num(&date[5..7]), num(&date[8..10]));
        let (h, mi) = (num(&date[11..13]), num(&date[14..16]));
        assert!((1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60);
        let day = days_from_civil(y, mo, d);
        let price_text = &r[5];
        assert!(
            price_text.contains('.') && !price_text.contains('e'),
            "price {price_text}"
        );
        let price: f64 = price_text.parse().expect("price");
        let customer = if r[6].is_empty() {
            None
        } else {
            let s = r[6].strip_suffix(".0").expect("CustomerID ends with .0");
            Some(s.parse::<u32>().expect("CustomerID"))
        };
        rows.push(Row {
            invoice: r[0].to_string(),
            code: r[1].to_string(),
            description: r[2].to_string(),
            qty: r[3].parse().expect("quantity"),
            day,
            hour: h as u32,
            minute_of_day: (h * 60 + mi) as u32,
            date_text: date.to_string(),
            price,
            customer,
            country: r[7].to_string(),
        });
    }
    rows
}

struct Fixture {
    shop: Shop,
    rows: Vec<Row>,
}

fn default_shop() -> &'static Fixture {
    static SHOP: OnceLock<Fixture> = OnceLock::new();
    SHOP.get_or_init(|| {
        let shop = generate(&ShopConfig::default()).expect("default shop");
        let rows = parse(&shop.csv);
        Fixture { shop, rows }
    })
}

/// Per-customer behaviour over purchase lines of real products with a normal price (as
/// the canonical cleaning would keep them).
#[derive(Debug, Default, Clone)]
struct Behaviour {
    revenue: f64,
    invoices: BTreeSet<String>,
    last_purchase_day: Option<i64>,
    negative_lines: usize,
    returned_qty: i64,
    purchase_lines: usize,
    purchase_qty: i64,
}

fn behaviour(rows: &[Row]) -> BTreeMap<u32, Behaviour> {
    let mut out: BTreeMap<u32, Behaviour> = BTreeMap::new();
    for r in rows {
        let Some(c) = r.customer else { continue };
        if !r.is_product() || r.price < 0.04 {
            continue;
        }
        let b = out.entry(c).or_default();
        if r.qty < 0 {
            b.negative_lines += 1;
            b.returned_qty -= r.qty;
        } else {
            b.revenue += r.qty as f64 * r.price;
            b.invoices.insert(r.invoice.clone());
            b.last_purchase_day = Some(b.last_purchase_day.map_or(r.day, |d| d.max(r.day)));
            b.purchase_lines += 1;
            b.purchase_qty += r.qty;
        }
    }
    out
}

fn truth_map(shop: &Shop) -> BTreeMap<u32, Archetype> {
    shop.truth
        .iter()
        .map(|t| (t.customer_id, t.archetype))
        .collect()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let fx = default_shop();
    let again = generate(&ShopConfig::default()).unwrap();
    assert!(again.csv == fx.shop.csv, "same config, different bytes");
    assert_eq!(again.truth, fx.shop.truth);
    assert_eq!(again.stats, fx.shop.stats);
    let other = generate(&ShopConfig {
        seed: 43,
        ..ShopConfig::default()
    })
    .unwrap();
    assert!(other.csv != fx.shop.csv);
    assert!(other.truth != fx.shop.truth);
    // Also for a non-default configuration.
    let small = ShopConfig {
        customers: 300,
        ..ShopConfig::default()
    };
    assert!(generate(&small).unwrap().csv == generate(&small).unwrap().csv);
}

#[test]
fn csv_format_matches_the_online_retail_copy() {
    let fx = default_shop();
    let rows = &fx.rows;
    let stats = &fx.shop.stats;
    assert_eq!(rows.len(), stats.lines);
    assert!(fx.shop.csv.ends_with(b"\n"));
    assert!(!fx.shop.csv.contains(&b'\r'));
    // The period: 2010-12-01 .. 2011-12-09, never Saturday, shop hours 7..=20.
    let first = days_from_civil(2010, 12, 1);
    let last = days_from_civil(2011, 12, 9);
    let mut prev: Option<(i64, u32)> = None;
    let mut prev_number = 0u32;
    let mut invoices: BTreeMap<&str, (&str, Option<u32>, &str)> = BTreeMap::new();
    let mut prev_invoice = "";
    for r in rows {
        assert!(r.day >= first && r.day <= last, "{}", r.date_text);
        assert_ne!((r.day + 3).rem_euclid(7), 5, "Saturday {}", r.date_text);
        assert!((7..=20).contains(&r.hour), "hour {}", r.date_text);
        // Sorted by date, then (like the real data) by the invoice number as text within a
        // minute: sales before `A` adjustments before `C` cancellations.
        let t = (r.day, r.minute_of_day);
        if let Some(p) = prev {
            assert!(t >= p, "not sorted at {}", r.invoice);
            assert!(
                t > p || r.invoice.as_str() >= prev_invoice,
                "{} after {} in the same minute",
                r.invoice,
                prev_invoice
            );
        }
        prev = Some(t);
        // Invoice numbers: 6 digits, optionally prefixed by C (cancellation) or A
        // (bad-debt adjustment); numbers increase through the file.
        let (prefix, digits) = match r.invoice.as_bytes()[0] {
            b'C' | b'A' => r.invoice.split_at(1),
            _ => ("", r.invoice.as_str()),
        };
        assert!(
            digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()),
            "{}",
            r.invoice
        );
        let number: u32 = digits.parse().unwrap();
        assert!(number >= prev_number, "{}", r.invoice);
        prev_number = number;
        match prefix {
            "C" => assert!(r.qty < 0, "cancellation with positive qty {}", r.invoice),
            "A" => assert_eq!(r.code, "B"),
            _ => assert!(r.qty > 0, "sale with negative qty {}", r.invoice),
        }
        // The lines of an invoice are contiguous and share date, customer, country.
        let key = (r.date_text.as_str(), r.customer, r.country.as_str());
        match invoices.get(r.invoice.as_str()) {
            Some(k) => {
                assert_eq!(*k, key, "{}", r.invoice);
                assert_eq!(
                    prev_invoice, r.invoice,
                    "invoice {} not contiguous",
                    r.invoice
                );
            }
            None => {
                invoices.insert(&r.invoice, key);
            }
        }
        prev_invoice = &r.invoice;
        // Stock codes: 5 digits with an optional capital suffix, or a junk code.
        let b = r.code.as_bytes();
        assert!(
            !r.is_product()
                || (b.len() >= 5
                    && b[..5].iter().all(u8::is_ascii_digit)
                    && (b.len() == 5 || (b.len() == 6 && b[5].is_ascii_uppercase()))),
            "{}",
            r.code
        );
        assert!(r.price.is_finite() && r.qty != 0);
    }
    assert_eq!(invoices.len(), stats.invoices);
    assert_eq!(prev_number as usize, 536_365 + stats.invoices - 1);
    // Customer ids start at 12346 like the real data.
    let ids: BTreeSet<u32> = rows.iter().filter_map(|r| r.customer).collect();
    assert_eq!(ids.first(), Some(&12_346));
    // RFC 4180 quoting: descriptions with commas and with doubled quotes.
    let text = std::str::from_utf8(&fx.shop.csv).unwrap();
    let comma = rows.iter().filter(|r| r.description.contains(',')).count();
    let quote = rows.iter().filter(|r| r.description.contains('"')).count();
    assert!(comma > 100 && quote > 10, "{comma} {quote}");
    assert!(text.contains("\"\" X "), "doubled quotes");
    assert!(rows.iter().any(|r| r.description.ends_with(' ')));
    assert!(rows.iter().any(|r| r.description.contains('\'')));
    // A product code always has the same description (or none).
    let mut desc: BTreeMap<&str, &str> = BTreeMap::new();
    for r in rows
        .iter()
        .filter(|r| r.is_product() && !r.description.is_empty())
    {
        assert_eq!(
            *desc.entry(&r.code).or_insert(&r.description),
            r.description
        );
    }
    assert!((300..=400).contains(&desc.len()), "{}", desc.len());
}

#[test]
fn every_archetype_has_its_share_and_truth_covers_the_ids() {
    let fx = default_shop();
    let cfg = ShopConfig::default();
    let truth = truth_map(&fx.shop);
    assert_eq!(truth.len(), fx.shop.truth.len(), "duplicate truth ids");
    assert_eq!(truth.len(), cfg.customers + 1);
    assert_eq!(fx.shop.stats.customers, truth.len());
    let ids: BTreeSet<u32> = fx.rows.iter().filter_map(|r| r.customer).collect();
    let truth_ids: BTreeSet<u32> = truth.keys().copied().collect();
    assert_eq!(ids, truth_ids);
    for a in Archetype::MIXED {
        let n = truth.values().filter(|&&x| x == a).count();
        let share = n as f64 / cfg.customers as f64;
        assert!(
            (share - cfg.share(a)).abs() <= 0.005,
            "{a}: {share} vs {}",
            cfg.share(a)
        );
        assert!(n > 0, "{a} missing");
    }
    assert_eq!(truth.get(&BAD_USER_ID), Some(&Archetype::BadUser));
    // The truth CSV.
    let mut out = Vec::new();
    write_truth_csv(&fx.shop.truth, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("customer_id,archetype\n12346,"));
    assert_eq!(text.lines().count(), truth.len() + 1);
}

#[test]
fn high_value_share_is_reached_within_rounding() {
    for (customers, share, seed) in [(1_000, 0.03, 5), (997, 0.15, 6)] {
        let cfg = ShopConfig {
            customers,
            seed,
            ..Default::default()
        }
        .with_high_value_share(share)
        .unwrap();
        let shop = insiders_synth::generate(&cfg).unwrap();
        let truth = truth_map(&shop);
        let count = |a: Archetype| truth.values().filter(|&&x| x == a).count() as f64;
        let n = customers as f64;
        // Largest-remainder quotas: each archetype within one customer of its exact share.
        for a in Archetype::MIXED {
            assert!(
                (count(a) - cfg.share(a) * n).abs() < 1.0,
                "{a}: {} vs {}",
                count(a),
                cfg.share(a) * n
            );
        }
        let hv = count(Archetype::LoyalHighValue) + count(Archetype::BulkWholesale);
        assert!((hv - share * n).abs() <= 1.0, "{hv} vs {}", share * n);
        // Same seed and shares: same bytes.
        assert_eq!(insiders_synth::generate(&cfg).unwrap().csv, shop.csv);
    }
}

/// FNV-1a 64 of the default shop's bytes: the default shop must not change when the share
/// settings are not used. Recorded again on 2026-12-07, when the invoices of one minute were
/// put in the real data's order (by the invoice number as text; same lines, same counts).
const DEFAULT_SHOP_FNV: u64 = 0x3742_db91_6a6e_6c88;

#[test]
fn the_default_shop_bytes_are_unchanged() {
    let fx = default_shop();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in &fx.shop.csv {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    assert_eq!(fx.shop.csv.len(), 23_023_996);
    assert_eq!(h, DEFAULT_SHOP_FNV, "{h:#x}");
}

#[test]
fn archetypes_really_differ() {
    let fx = default_shop();
    let truth = truth_map(&fx.shop);
    let beh = behaviour(&fx.rows);
    let last_day = days_from_civil(2011, 12, 9);
    let first_day = days_from_civil(2010, 12, 1);
    let period = (last_day - first_day + 1) as f64;
    let mut revenue: BTreeMap<Archetype, Vec<f64>> = BTreeMap::new();
    let mut last: BTreeMap<Archetype, Vec<f64>> = BTreeMap::new();
    let mut neg: BTreeMap<Archetype, Vec<f64>> = BTreeMap::new();
    let mut invoices: BTreeMap<Archetype, Vec<f64>> = BTreeMap::new();
    let mut basket: BTreeMap<Archetype, Vec<f64>> = BTreeMap::new();
    let mut return_rate: BTreeMap<Archetype, Vec<f64>> = BTreeMap::new();
    for (id, a) in &truth {
        let b = beh.get(id).cloned().unwrap_or_default();
        revenue.entry(*a).or_default().push(b.revenue);
        neg.entry(*a).or_default().push(b.negative_lines as f64);
        if let Some(d) = b.last_purchase_day {
            return_rate
                .entry(*a)
                .or_default()
                .push(b.returned_qty as f64 / b.purchase_qty as f64);
            last.entry(*a)
                .or_default()
                .push((d - first_day) as f64 / period);
            invoices
                .entry(*a)
                .or_default()
                .push(b.invoices.len() as f64);
            basket
                .entry(*a)
                .or_default()
                .push(b.purchase_qty as f64 / b.invoices.len() as f64);
        }
    }
    let m = |map: &BTreeMap<Archetype, Vec<f64>>, a: Archetype| mean(&map[&a]);
    use Archetype::*;
    let rev: Vec<(Archetype, f64)> = Archetype::MIXED
        .iter()
        .map(|&a| (a, m(&revenue, a)))
        .collect();
    println!("mean revenue: {rev:?}");
    // Revenue: wholesale > loyal > regular > occasional > one-off; lapsed below regular.
    let chain = [BulkWholesale, LoyalHighValue, Regular, Occasional, OneOff];
    for w in chain.windows(2) {
        assert!(
            m(&revenue, w[0]) > 1.5 * m(&revenue, w[1]),
            "{} {} vs {} {}",
            w[0],
            m(&revenue, w[0]),
            w[1],
            m(&revenue, w[1])
        );
    }
    assert!(m(&revenue, Lapsed) < m(&revenue, Regular));
    // Recency: lapsed customers stop early, loyal and regular ones buy until the end.
    let lapsed = m(&last, Lapsed);
    println!(
        "mean last purchase (share of period): lapsed {lapsed:.3} regular {:.3} loyal {:.3}",
        m(&last, Regular),
        m(&last, LoyalHighValue)
    );
    assert!(lapsed < 0.45, "{lapsed}");
    assert!(m(&last, Regular) > 0.8 && m(&last, LoyalHighValue) > 0.9);
    assert!(last[&Lapsed].iter().all(|&x| x < 0.55));
    // Frequency: loyal >> regular >> occasional >= 2 > one-off = 1.
    assert!(m(&invoices, LoyalHighValue) > 2.0 * m(&invoices, Regular));
    assert!(m(&invoices, Regular) > 1.5 * m(&invoices, Occasional));
    assert!(invoices[&OneOff].iter().all(|&x| x == 1.0));
    assert!(
        invoices[&Occasional]
            .iter()
            .all(|&x| (2.0..=6.0).contains(&x))
    );
    // Basket size (units per invoice): wholesale far above everyone.
    for a in [
        LoyalHighValue,
        Regular,
        Occasional,
        OneOff,
        Lapsed,
        Returner,
    ] {
        assert!(m(&basket, BulkWholesale) > 5.0 * m(&basket, a), "{a}");
    }
    // Returns: returners have more negative-quantity lines than anyone else, and return a
    // far larger share of what they buy.
    let ret = m(&neg, Returner);
    let rate = m(&return_rate, Returner);
    println!(
        "negative lines per customer, returned share of units: {:?}",
        Archetype::MIXED
            .iter()
            .map(|&a| (a, m(&neg, a), m(&return_rate, a)))
            .collect::<Vec<_>>()
    );
    for a in [
        LoyalHighValue,
        Regular,
        Occasional,
        OneOff,
        Lapsed,
        BulkWholesale,
    ] {
        assert!(ret > 2.0 * m(&neg, a), "{a}: {} vs {ret}", m(&neg, a));
        assert!(
            rate > 4.0 * m(&return_rate, a),
            "{a}: {} vs {rate}",
            m(&return_rate, a)
        );
    }
    // Some returners only return (no purchase in the period), like the real data's 91.
    let only_returns = truth
        .iter()
        .filter(|(id, a)| **a == Returner && beh.get(id).is_some_and(|b| b.purchase_lines == 0))
        .count();
    assert!((1..=20).contains(&only_returns), "{only_returns}");
}

#[test]
fn heavy_tails_and_seasonality() {
    let fx = default_shop();
    let beh = behaviour(&fx.rows);
    let mut rev: Vec<f64> = beh
        .iter()
        .filter(|(id, _)| **id != BAD_USER_ID)
        .map(|(_, b)| b.revenue)
        .filter(|&r| r > 0.0)
        .collect();
    rev.sort_by(f64::total_cmp);
    let total: f64 = rev.iter().sum();
    let top1: f64 = rev.iter().rev().take(rev.len() / 100).sum();
    let median = rev[rev.len() / 2];
    println!(
        "top 1% revenue share {:.3}, max/median {:.1}",
        top1 / total,
        rev[rev.len() - 1] / median
    );
    assert!(top1 / total > 0.15, "{}", top1 / total);
    assert!(rev[rev.len() - 1] / median > 50.0);
    // Invoices per open day by month: Sep-Nov busier than January.
    let mut per_month: BTreeMap<u32, (BTreeSet<&str>, BTreeSet<i64>)> = BTreeMap::new();
    for r in &fx.rows {
        let m: u32 = r.date_text[5..7].parse().unwrap();
        let e = per_month.entry(m).or_default();
        e.0.insert(&r.invoice);
        e.1.insert(r.day);
    }
    let rate = |m: u32| per_month[&m].0.len() as f64 / per_month[&m].1.len() as f64;
    let autumn = (rate(9) + rate(10) + rate(11)) / 3.0;
    println!(
        "invoices per open day: Jan {:.1}, Sep-Nov {autumn:.1}",
        rate(1)
    );
    assert!(autumn > 1.4 * rate(1), "{autumn} vs {}", rate(1));
    // Christmas closure: nothing between 24 Dec and 3 Jan.
    assert!(
        !fx.rows
            .iter()
            .any(|r| r.date_text.starts_with("2010-12-2") && &r.date_text[8..10] >= "24")
    );
    assert!(
        !fx.rows
            .iter()
            .any(|r| r.date_text.starts_with("2011-01-0") && &r.date_text[8..10] <= "03")
    );
    // Most customers live in the United Kingdom, the rest in a handful of countries.
    let mut country_of: BTreeMap<u32, &str> = BTreeMap::new();
    for r in &fx.rows {
        if let Some(c) = r.customer {
            assert_eq!(*country_of.entry(c).or_insert(&r.country), r.country);
        }
    }
    let uk = country_of
        .values()
        .filter(|c| **c == "United Kingdom")
        .count();
    let share = uk as f64 / country_of.len() as f64;
    let countries: BTreeSet<&str> = country_of.values().copied().collect();
    assert!((0.8..0.95).contains(&share), "{share}");
    assert!((6..=15).contains(&countries.len()), "{countries:?}");
}

#[test]
fn anonymous_lines_and_cancellations_are_in_range() {
    let fx = default_shop();
    let n = fx.rows.len() as f64;
    let anon = fx.rows.iter().filter(|r| r.customer.is_none()).count();
    let canc_lines = fx
        .rows
        .iter()
        .filter(|r| r.invoice.starts_with('C'))
        .count();
    let canc_inv: BTreeSet<&str> = fx
        .rows
        .iter()
        .filter(|r| r.invoice.starts_with('C'))
        .map(|r| r.invoice.as_str())
        .collect();
    let s = &fx.shop.stats;
    assert_eq!(anon, s.anonymous_lines);
    assert_eq!(canc_lines, s.cancellation_lines);
    assert_eq!(canc_inv.len(), s.cancellation_invoices);
    let anon_share = anon as f64 / n;
    let canc_share = canc_lines as f64 / n;
    let canc_inv_share = canc_inv.len() as f64 / s.invoices as f64;
    println!(
        "lines {n}, anonymous {anon_share:.4}, cancellation lines {canc_share:.4}, cancellation invoices {canc_inv_share:.4}"
    );
    assert!((0.23..=0.27).contains(&anon_share), "{anon_share}");
    assert!((0.005..=0.04).contains(&canc_share), "{canc_share}");
    assert!((0.04..=0.20).contains(&canc_inv_share), "{canc_inv_share}");
    // Id-less lines come as whole invoices.
    let mut with_id: BTreeMap<&str, bool> = BTreeMap::new();
    for r in &fx.rows {
        let has = r.customer.is_some();
        assert_eq!(*with_id.entry(&r.invoice).or_insert(has), has);
    }
    // Every cancellation by a customer returns at most what it bought of that code at that
    // price (except the return-only customers and the junk codes).
    let beh = behaviour(&fx.rows);
    let truth = truth_map(&fx.shop);
    for (id, b) in &beh {
        if truth[id] != Archetype::Returner || b.purchase_lines > 0 {
            assert!(b.returned_qty <= b.purchase_qty, "{id}");
        }
    }
}

/// Counts of the canonical cleaning of `docs/reference-pipeline.md`, applied in order.
#[derive(Debug, Default)]
struct Cleaning {
    anonymous_invoices: usize,
    low_price: usize,
    junk_codes: usize,
    countries: usize,
    bad_users: usize,
    kept: usize,
    customers: usize,
    only_returns: usize,
}

fn clean(rows: &[Row]) -> Cleaning {
    let mut c = Cleaning::default();
    let anon: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.customer.is_none())
        .map(|r| r.invoice.as_str())
        .collect();
    c.anonymous_invoices = anon.len();
    let mut purchases: BTreeSet<String> = BTreeSet::new();
    let mut all: BTreeSet<String> = BTreeSet::new();
    for r in rows {
        if r.price < 0.04 {
            c.low_price += 1;
        } else if !r.is_product() {
            c.junk_codes += 1;
        } else if r.country == "Unspecified" || r.country == "European Community" {
            c.countries += 1;
        } else if r.customer == Some(BAD_USER_ID) {
            c.bad_users += 1;
        } else {
            c.kept += 1;
            let key = match r.customer {
                Some(id) => id.to_string(),
                None => format!("anon-{}", r.invoice),
            };
            if r.qty >= 0 {
                purchases.insert(key.clone());
            }
            all.insert(key);
        }
    }
    c.customers = all.len();
    c.only_returns = all.difference(&purchases).count();
    c
}

#[test]
fn every_cleaning_rule_has_work_to_do() {
    let fx = default_shop();
    let rows = &fx.rows;
    let codes: BTreeSet<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    for j in JUNK {
        assert!(codes.contains(j), "junk code {j} missing");
    }
    let prices = |f: &dyn Fn(f64) -> bool| rows.iter().filter(|r| f(r.price)).count();
    assert!(prices(&|p| p == 0.0) >= 10);
    assert!(prices(&|p| p == 0.001) >= 2);
    assert_eq!(prices(&|p| p < 0.0), 2);
    assert!(
        rows.iter()
            .any(|r| r.price == 0.0 && r.description.is_empty())
    );
    for country in ["Unspecified", "European Community"] {
        assert!(rows.iter().any(|r| r.country == country), "{country}");
    }
    let bad: Vec<&Row> = rows
        .iter()
        .filter(|r| r.customer == Some(BAD_USER_ID))
        .collect();
    assert!(bad.iter().any(|r| r.qty == 80_995));
    assert!(bad.iter().any(|r| r.qty == -80_995));
    let c = clean(rows);
    println!("{c:?}");
    assert!(c.anonymous_invoices > 100);
    assert!(c.low_price > 0 && c.junk_codes > 0 && c.countries > 0 && c.bad_users >= 3);
    assert!(c.only_returns > 0);
    let s = &fx.shop.stats;
    assert_eq!(
        s.junk_code_lines,
        rows.iter().filter(|r| !r.is_product()).count()
    );
    assert_eq!(s.low_price_lines, prices(&|p| p < 0.04));
    assert_eq!(
        s.excluded_country_lines,
        rows.iter()
            .filter(|r| r.country == "Unspecified" || r.country == "European Community")
            .count()
    );
}

#[test]
fn clean_config_has_no_dirt_and_knobs_work() {
    let cfg = ShopConfig {
        customers: 400,
        junk: false,
        anonymous_share: 0.0,
        ..ShopConfig::default()
    };
    let shop = generate(&cfg).unwrap();
    let rows = parse(&shop.csv);
    assert!(rows.iter().all(|r| r.is_product()));
    assert!(rows.iter().all(|r| r.price >= 0.04));
    assert!(rows.iter().all(|r| r.customer.is_some()));
    assert!(
        rows.iter()
            .all(|r| r.country != "Unspecified" && r.country != "European Community")
    );
    assert_eq!(shop.truth.len(), 400);
    assert!(shop.truth.iter().all(|t| t.archetype != Archetype::BadUser));
    let c = clean(&rows);
    assert_eq!(
        (c.low_price, c.junk_codes, c.countries, c.bad_users),
        (0, 0, 0, 0)
    );

    // Only one archetype, another period and share of id-less lines.
    let cfg = ShopConfig {
        customers: 200,
        mix: [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
        start: (2020, 2, 29),
        days: 60,
        anonymous_share: 0.5,
        seed: 7,
        ..ShopConfig::default()
    };
    let shop = generate(&cfg).unwrap();
    let rows = parse(&shop.csv);
    assert!(
        shop.truth
            .iter()
            .all(|t| matches!(t.archetype, Archetype::OneOff | Archetype::BadUser))
    );
    let anon = rows.iter().filter(|r| r.customer.is_none()).count() as f64 / rows.len() as f64;
    assert!((0.45..=0.55).contains(&anon), "{anon}");
    assert!(rows[0].date_text.as_str() >= "2020-02-29");
    assert!(rows[rows.len() - 1].date_text.as_str() < "2020-04-29");
    assert_eq!(shop.stats.first_day, (2020, 2, 29));
    assert_eq!(shop.stats.last_day, (2020, 4, 28));
}

#[test]
fn fifty_thousand_customers_work() {
    // A short period keeps the test fast; ids run past the bad user's 16446, which is
    // reserved for it.
    let cfg = ShopConfig {
        customers: 50_000,
        days: 28,
        ..ShopConfig::default()
    };
    let t = std::time::Instant::now();
    let shop = generate(&cfg).unwrap();
    println!(
        "50k customers, 28 days: {:?}, {} lines",
        t.elapsed(),
        shop.stats.lines
    );
    assert_eq!(shop.truth.len(), 50_001);
    let ids: BTreeSet<u32> = shop.truth.iter().map(|t| t.customer_id).collect();
    assert_eq!(ids.len(), 50_001);
    assert_eq!(ids.first(), Some(&12_346));
    assert_eq!(ids.last(), Some(&(12_346 + 50_000)));
    let bad: Vec<_> = shop
        .truth
        .iter()
        .filter(|t| t.customer_id == BAD_USER_ID)
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].archetype, Archetype::BadUser);
    // Every truth id appears in the CSV (cheap scan of the CustomerID field).
    let text = std::str::from_utf8(&shop.csv).unwrap();
    let mut seen = BTreeSet::new();
    for line in text.lines().skip(1) {
        // CustomerID is the second-to-last field; descriptions may hold commas, so split
        // from the right.
        let mut f = line.rsplitn(3, ',');
        let _country = f.next();
        let id = f.next().unwrap();
        if let Some(id) = id.strip_suffix(".0") {
            seen.insert(id.parse::<u32>().unwrap());
        }
    }
    assert_eq!(seen, ids);
}

/// The numbers in `docs/synthetic-shop.md` are those of the default shop. Run with
/// `UPDATE_DOCS=1` to rewrite the block after a deliberate change of the generator.
#[test]
fn docs_numbers_are_current() {
    let fx = default_shop();
    let s = &fx.shop.stats;
    let c = clean(&fx.rows);
    let truth = truth_map(&fx.shop);
    let beh = behaviour(&fx.rows);
    let mut block = String::new();
    block.push_str("| quantity | default shop (seed 42) |\n|---|---:|\n");
    let mut row = |k: &str, v: String| block.push_str(&format!("| {k} | {v} |\n"));
    row("data lines", s.lines.to_string());
    row("CSV bytes", s.bytes.to_string());
    row("invoices", s.invoices.to_string());
    row(
        "cancellation invoices / lines",
        format!("{} / {}", s.cancellation_invoices, s.cancellation_lines),
    );
    row(
        "lines without CustomerID",
        format!(
            "{} ({:.1}%) in {} invoices",
            s.anonymous_lines,
            100.0 * s.anonymous_lines as f64 / s.lines as f64,
            s.anonymous_invoices
        ),
    );
    row("customer ids (truth rows)", s.customers.to_string());
    row(
        "rule 1: synthetic ids for id-less invoices",
        c.anonymous_invoices.to_string(),
    );
    row(
        "rule 2: lines with unit price < 0.04",
        c.low_price.to_string(),
    );
    row(
        "rule 3: further lines with a junk stock code",
        c.junk_codes.to_string(),
    );
    row(
        "rule 4: further lines in Unspecified / European Community",
        c.countries.to_string(),
    );
    row(
        "rule 5: further lines of the bad user 16446",
        c.bad_users.to_string(),
    );
    row("lines kept", c.kept.to_string());
    row(
        "customers after cleaning (rule 1 ids included)",
        c.customers.to_string(),
    );
    row("of which only returns", c.only_returns.to_string());
    for a in Archetype::MIXED {
        let ids: Vec<u32> = truth
            .iter()
            .filter(|(_, x)| **x == a)
            .map(|(k, _)| *k)
            .collect();
        let rev: Vec<f64> = ids
            .iter()
            .map(|id| beh.get(id).map_or(0.0, |b| b.revenue))
            .collect();
        row(
            &format!("{a}: customers, mean revenue"),
            format!("{}, {:.0}", ids.len(), mean(&rev)),
        );
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/synthetic-shop.md");
    let doc = std::fs::read_to_string(path).expect("docs/synthetic-shop.md");
    let (begin, end) = ("<!-- stats:begin -->\n", "<!-- stats:end -->");
    let i = doc.find(begin).expect("begin marker") + begin.len();
    let j = doc.find(end).expect("end marker");
    if doc[i..j] != block {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let new = format!("{}{}{}", &doc[..i], block, &doc[j..]);
            std::fs::write(path, new).unwrap();
        } else {
            panic!("docs/synthetic-shop.md is stale; rerun with UPDATE_DOCS=1:\n{block}");
        }
    }
}

#[test]
fn same_bytes_for_any_thread_count() {
    let cfg = ShopConfig {
        customers: 3_000,
        days: 120,
        seed: 11,
        ..ShopConfig::default()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| generate(&cfg).unwrap())
    };
    let one = run(1);
    let two = run(2);
    assert!(one.csv == two.csv, "1 vs 2 threads differ");
    assert_eq!(one.truth, two.truth);
    assert_eq!(one.stats, two.stats);
}

#[test]
fn tiny_and_odd_configs_work() {
    let base = ShopConfig {
        products: 20,
        days: 28,
        ..ShopConfig::default()
    };
    let configs = [
        ShopConfig {
            customers: 1,
            ..base.clone()
        },
        ShopConfig {
            customers: 3,
            start: (2010, 12, 24), // starts in the Christmas closure
            anonymous_share: 0.9,
            ..base.clone()
        },
        ShopConfig {
            customers: 7,
            start: (2011, 12, 5), // ends in the closure
            mix: [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
            foreign_share: 1.0,
            ..base.clone()
        },
        ShopConfig {
            customers: 25,
            start: (2000, 2, 29),
            days: 3660,
            junk: false,
            anonymous_share: 0.0,
            seed: u64::MAX,
            ..base.clone()
        },
    ];
    for cfg in &configs {
        let shop = generate(cfg).unwrap_or_else(|e| panic!("{cfg:?}: {e}"));
        let rows = parse(&shop.csv);
        assert_eq!(rows.len(), shop.stats.lines);
        let ids: BTreeSet<u32> = rows.iter().filter_map(|r| r.customer).collect();
        assert_eq!(ids.len(), shop.truth.len(), "{cfg:?}");
        let (y, m, d) = cfg.start;
        let first = days_from_civil(i64::from(y), i64::from(m), i64::from(d));
        assert!(
            rows.iter()
                .all(|r| r.day >= first && r.day < first + i64::from(cfg.days))
        );
        if cfg.foreign_share == 1.0 {
            assert!(
                rows.iter()
                    .filter(|r| r.customer.is_some_and(|c| c != BAD_USER_ID))
                    .all(|r| r.country != "United Kingdom")
            );
        }
    }
}
