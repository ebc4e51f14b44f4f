//! The pipeline at scale: seeded synthetic shops of 10k and 100k customers (registry
//! presets `synthetic-10k`, `synthetic-100k`) through ingest + cleaning + customer features.
//! Throughput is customers per second, so the two sizes compare per customer.
//!
//! Each shop is generated once, outside the measurement; an iteration parses its CSV bytes.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use insiders_benches::{cleaning_for, prepare_with};
use insiders_ingest::{InputOptions, read_bytes};
use std::hint::black_box;
use std::path::Path;

fn scale(c: &mut Criterion) {
    let opts = InputOptions::default();
    let mut g = c.benchmark_group("scale");
    g.sample_size(10);
    for id in ["synthetic-10k", "synthetic-100k"] {
        let Some(d) = insiders_datasets::require(id) else {
            continue;
        };
        let shop = match d.load() {
            Ok(insiders_datasets::Data::Shop(s)) => s,
            other => panic!("{id}: {other:?}"),
        };
        let customers = shop.truth.len() as u64;
        let cleaning = cleaning_for(&shop);
        g.throughput(Throughput::Elements(customers));
        let name = format!("{id}.csv");
        g.bench_function(format!("{id}/read+clean+features"), |b| {
            b.iter(|| {
                let l = read_bytes(Path::new(&name), shop.csv.clone(), &opts).expect("read");
                black_box(prepare_with(&l, &cleaning).table.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
