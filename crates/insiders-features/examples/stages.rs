//! Wall time of each stage of `insiders features` (read, clean, customer table) on one file,
//! and the customer table written as CSV.
//! `cargo run --release -p insiders-features --features insiders-ingest/parquet --example stages FILE OUT.csv`
use insiders_features::{CleaningOptions, clean, customer_table};
use std::path::Path;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("FILE");
    let out = args.next();
    let opts = insiders_ingest::InputOptions {
        descriptions: false,
        ..Default::default()
    };
    let t = Instant::now();
    let l = insiders_ingest::read_path(Path::new(&path), &opts).expect("read");
    let read = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let cl = clean(&l.lines, &l.report, &CleaningOptions::default()).expect("clean");
    let cleaning = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let table = customer_table(&l.lines, &cl).expect("features");
    let features = t.elapsed().as_secs_f64();
    eprintln!(
        "read {read:.2} s, clean {cleaning:.2} s, table {features:.2} s; {} lines, {} runs, {} customers",
        l.lines.len(),
        l.lines.runs(),
        table.len()
    );
    eprintln!(
        "heap {} MB, {} stock codes, {} invoices, {} countries",
        l.lines.heap_bytes() >> 20,
        l.lines.stock_codes.len(),
        l.lines.invoices.len(),
        l.lines.countries.len()
    );
    if let Some(out) = out {
        std::fs::write(out, table.to_csv()).expect("write");
    }
}
