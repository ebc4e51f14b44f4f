//! Recording one run of 5,695 memberships (the size of the real data's customer base).
//!
//! `replace`: rerecording the same as-of date (delete the old run, insert the new one), the
//! steady state of `insiders run` reruns. `thirteenth`: a new as-of date into a database
//! that holds twelve monthly runs. `transitions`: the flows between twelve monthly runs.
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

    // The thirteenth monthly run: a copy of a database holding twelve runs, opened outside
    // the timed closure.
    let template = dir.path().join("twelve.db");
    let mut history = History::open(&template).expect("open");
    for m in 1..=12 {
        history
            .record_run(&record(format!("2011-{m:02}-01")), &members)
            .expect("record");
    }
    drop(history);
    let copy = dir.path().join("copy.db");
    let january = record("2012-01-01".into());
    c.bench_function("record_run/thirteenth/5695", |b| {
        b.iter_batched(
            || {
                std::fs::copy(&template, &copy).expect("copy");
                History::open(&copy).expect("open")
            },
            // Returned, so the connection is closed outside the timing.
            |mut history| {
                let id = history.record_run(&january, &members).expect("record");
                (history, id)
            },
            criterion::BatchSize::PerIteration,
        )
    });

    let history = History::open(&template).expect("open");
    c.bench_function("transitions/12x5695", |b| {
        b.iter(|| history.transitions().expect("transitions"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
