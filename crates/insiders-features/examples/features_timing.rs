//! Times reading, cleaning and the customer table on the real data, best of 10.
//! `cargo run --release -p insiders-features --example features_timing [FILE]`
use insiders_features::{CleaningOptions, clean, customer_table};
use std::path::Path;
use std::time::Instant;

fn best<T>(mut f: impl FnMut() -> T) -> f64 {
    (0..10)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/datasets/online-retail/online-retail.csv.gz".into());
    let opts = insiders_ingest::InputOptions::default();
    let cleaning = CleaningOptions::default();
    let l = insiders_ingest::read_path(Path::new(&path), &opts).expect("read");
    let cl = clean(&l.lines, &l.report, &cleaning).expect("clean");
    if std::env::var("ONLY_TABLE").is_ok() {
        for _ in 0..50 {
            std::hint::black_box(customer_table(&l.lines, &cl).expect("features").len());
        }
        return;
    }
    let read = best(|| {
        insiders_ingest::read_path(Path::new(&path), &opts)
            .expect("read")
            .lines
            .len()
    });
    let c = best(|| {
        clean(&l.lines, &l.report, &cleaning)
            .expect("clean")
            .kept
            .len()
    });
    let f = best(|| customer_table(&l.lines, &cl).expect("features").len());
    println!("read {read:.1} ms, clean {c:.1} ms, customer table {f:.1} ms");
}
