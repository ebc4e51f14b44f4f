//! Recording one run of 5,695 memberships (the size of the real data's customer base).
//!
//! `replace`: rerecording the same as-of date (delete the old run, insert the new one), the
//! steady state of `insiders run` reruns. `fresh`: a new as-of date each iteration.
//! Both commit with `synchronous=FULL`, so the fsyncs of the file system are included.

use criterion::{Criterion, criterion_group, criterion_main};
use insiders_history::{History, Membership, RunRecord};

const CUSTOMERS: i64 = 5_695;

fn record(as_of: String) -> RunRecord {
    RunRecord {
        as_of,
        config_hash: "cafebabe0123456789".into(),
        data_fingerprint: "bench".into(),
        seed: 42,
        model: "ward k=10 on tree space".into(),
        insiders_cluster: 0,
        tool_version: "0.1.0".into(),
    }
}

fn bench(c: &mut Criterion) {
    let members: Vec<Membership> = (12_346..12_346 + CUSTOMERS)
        .map(|customer_id| {
            let cluster = customer_id % 10;
            Membership {
                customer_id,
                cluster,
                insider: cluster == 0,
            }
        })
        .collect();
    let dir = tempfile::tempdir().expect("temporary directory");

    let mut history = History::open(dir.path().join("replace.db")).expect("open");
    let same = record("2011-12-01".into());
    c.bench_function("record_run/replace/5695", |b| {
        b.iter(|| history.record_run(&same, &members).expect("record"))
    });

    let mut history = History::open(dir.path().join("fresh.db")).expect("open");
    let mut day = 0u32;
    c.bench_function("record_run/fresh/5695", |b| {
        b.iter_batched(
            || {
                day += 1;
                record(format!("{:04}-01-01", 1000 + day))
            },
            |r| history.record_run(&r, &members).expect("record"),
            criterion::BatchSize::SmallInput,
        )
    });

    let mut history = History::open(dir.path().join("query.db")).expect("open");
    for m in 1..=12 {
        history
            .record_run(&record(format!("2011-{m:02}-01")), &members)
            .expect("record");
    }
    c.bench_function("transitions/12x5695", |b| {
        b.iter(|| history.transitions().expect("transitions"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
