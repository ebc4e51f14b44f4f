//! A stable-toolchain companion of the `fuzz/` target: seeded mutations of valid CSV (byte
//! flips, truncations, inserted quotes, delimiters and newlines, invalid UTF-8), random bytes,
//! and gzip-wrapped variants all give a value or an error from `read_bytes`, never a panic;
//! likewise for a whitespace-separated, invoice-less file with an amount per line (CDNOW).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use insiders_core::Rng;
use insiders_ingest::{ColumnNames, Delimiter, InputOptions, OnBadRow, read_bytes};
use std::io::Write;
use std::path::Path;

const VALID: &str = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n\
536381,82567,\"AIRLINE LOUNGE,METAL SIGN\",2,2010-12-01 09:41:00,2.1,15311.0,United Kingdom\n\
C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom\n\
536544,21773,DECORATIVE ROSE BATHROOM BOTTLE,1,2010-12-01 14:32:00,2.51,,United Kingdom\n";

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(6) {
        if v.is_empty() {
            break;
        }
        let at = rng.below(v.len());
        match rng.below(7) {
            0 => v[at] = rng.below(256) as u8,
            1 => v.truncate(at),
            2 => v.insert(at, b'"'),
            3 => v.insert(at, b','),
            4 => v.insert(at, b'\n'),
            5 => v.insert(at, 0xff),
            _ => {
                let end = (at + rng.below(20)).min(v.len());
                v.drain(at..end);
            }
        }
    }
    v
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn no_input_makes_the_reader_panic() {
    let strict = InputOptions::default();
    let skip = InputOptions {
        on_bad_row: OnBadRow::Skip,
        ..Default::default()
    };
    let mut rng = Rng::new(2024);
    let mut outcomes = [0usize; 2];
    for case in 0..3000 {
        let bytes = match case % 10 {
            0 => (0..rng.below(200)).map(|_| rng.below(256) as u8).collect(),
            1 => gzip(&mutate(&mut rng, VALID.as_bytes())),
            2 => mutate(&mut rng, &gzip(VALID.as_bytes())),
            3 => {
                let mut z = b"PK\x03\x04".to_vec();
                z.extend(mutate(&mut rng, VALID.as_bytes()));
                z
            }
            _ => mutate(&mut rng, VALID.as_bytes()),
        };
        for opts in [&strict, &skip] {
            let b = bytes.clone();
            let r = std::panic::catch_unwind(|| read_bytes(Path::new("m.csv"), b, opts).is_ok());
            match r {
                Ok(ok) => outcomes[usize::from(ok)] += 1,
                Err(_) => panic!(
                    "read_bytes panicked on case {case}: {:?}",
                    String::from_utf8_lossy(&bytes)
                ),
            }
        }
    }
    // Both outcomes occur: the mutations exercise the error paths and the happy path.
    assert!(outcomes[0] > 100 && outcomes[1] > 100, "{outcomes:?}");
}

const CDNOW: &str = " customer_id  date number_of_cds  dollar_value\r
 00001 19970101  1   11.77\r
 00002 19970112  1   12.00\r
 00002 19970112  5   77.00\r
 00003 19970102  2   20.76\r
";

#[test]
fn no_whitespace_input_makes_the_reader_panic() {
    let strict = InputOptions {
        delimiter: Delimiter::Whitespace,
        columns: ColumnNames {
            customer_id: Some("customer_id".into()),
            invoice_date: Some("date".into()),
            quantity: Some("number_of_cds".into()),
            amount: Some("dollar_value".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let skip = InputOptions {
        on_bad_row: OnBadRow::Skip,
        ..strict.clone()
    };
    let mut rng = Rng::new(97);
    let mut outcomes = [0usize; 2];
    for case in 0..2000 {
        let mut bytes = mutate(&mut rng, CDNOW.as_bytes());
        if case % 3 == 0 && !bytes.is_empty() {
            let at = rng.below(bytes.len());
            bytes.insert(at, if case % 2 == 0 { b' ' } else { b'\t' });
        }
        for opts in [&strict, &skip] {
            let b = bytes.clone();
            let r = std::panic::catch_unwind(|| read_bytes(Path::new("m.txt"), b, opts).is_ok());
            match r {
                Ok(ok) => outcomes[usize::from(ok)] += 1,
                Err(_) => panic!(
                    "read_bytes panicked on case {case}: {:?}",
                    String::from_utf8_lossy(&bytes)
                ),
            }
        }
    }
    assert!(outcomes[0] > 100 && outcomes[1] > 100, "{outcomes:?}");
}
