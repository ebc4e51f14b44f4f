//! End-to-end tests of `--compute datafusion` and `--compute ballista://HOST:PORT` (the
//! `distributed` feature, docs/distributed.md): the same customer table (ids and counts
//! exact, every feature within 1e-9 relative) and the same row accounting as the local
//! path, on the real data and on a synthetic shop split into monthly files (CSV, gzip CSV and
//! Parquet), with a cluster of a scheduler and two executors on loopback ports started in
//! this process; an executor killed mid-query; an unreachable scheduler; malformed rows.
//! They run in the README's test command (`cargo test --workspace --features
//! insiders/distributed`), in the debug profile: about half a minute.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{insiders, text};
use insiders_distributed::cluster::{self, ExecutorOptions, SchedulerOptions};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port P such that P and P+1 are free now (an executor takes both).
fn free_port_pair() -> u16 {
    for _ in 0..100 {
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = a.local_addr().unwrap().port();
        if p < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
    panic!("no two consecutive free ports");
}

/// A scheduler and two executors on loopback ports, in this process.
struct InProcessCluster {
    scheduler: String,
    _rt: insiders_distributed::Runtime,
    _work: tempfile::TempDir,
}

fn in_process_cluster() -> InProcessCluster {
    let rt = insiders_distributed::runtime().unwrap();
    let work = tempfile::tempdir().unwrap();
    let (addr, serve) = rt
        .block_on(cluster::bind_scheduler(&SchedulerOptions {
            bind: "127.0.0.1:0".into(),
            executor_timeout_seconds: cluster::EXECUTOR_TIMEOUT_SECONDS,
        }))
        .unwrap();
    rt.spawn(serve);
    for k in 0..2 {
        let opts = ExecutorOptions {
            scheduler: addr.to_string(),
            bind: format!("127.0.0.1:{}", free_port_pair()),
            work_dir: Some(work.path().join(format!("executor-{k}"))),
            concurrent_tasks: Some(2),
            memory_limit: None,
        };
        rt.spawn(async move { cluster::run_executor(&opts).await });
    }
    // The executors register within their first heartbeat; jobs wait for them anyway.
    std::thread::sleep(Duration::from_secs(2));
    InProcessCluster {
        scheduler: addr.to_string(),
        _rt: rt,
        _work: work,
    }
}

/// `customers.csv` as ids and rows of values (empty = NaN).
fn customers(dir: &Path) -> (Vec<String>, Vec<u32>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(dir.join("customers.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let (mut ids, mut rows) = (Vec::new(), Vec::new());
    for l in lines {
        let mut f = l.split(',');
        ids.push(f.next().unwrap().parse().unwrap());
        rows.push(
            f.map(|v| {
                if v.is_empty() {
                    f64::NAN
                } else {
                    v.parse().unwrap()
                }
            })
            .collect(),
        );
    }
    (header, ids, rows)
}

/// Asserts the same customer table: ids exact, every value within 1e-9 relative.
fn assert_same_table(local: &Path, other: &Path, what: &str) {
    let (ha, ia, ra) = customers(local);
    let (hb, ib, rb) = customers(other);
    assert_eq!(ha, hb, "{what}: columns");
    assert_eq!(ia.len(), ib.len(), "{what}: customer count");
    assert_eq!(ia, ib, "{what}: customer ids");
    for (i, (a, b)) in ra.iter().zip(&rb).enumerate() {
        for (j, (x, y)) in a.iter().zip(b).enumerate() {
            let ok = (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-9 * x.abs().max(y.abs());
            assert!(
                ok,
                "{what}: customer {} {}: {x} against {y}",
                ia[i],
                ha[j + 1]
            );
        }
    }
}

/// The row accounting of a features folder (without the input's name).
fn accounting(dir: &Path) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("row_accounting.json")).unwrap())
            .unwrap();
    let mut a = v["accounting"].clone();
    a.as_object_mut().unwrap().remove("source");
    a
}

fn features(data: &str, out: &Path, compute: &str, extra: &[&str]) -> (std::process::Output, f64) {
    let t = Instant::now();
    let mut args = vec![
        "features",
        "--data",
        data,
        "--out",
        out.to_str().unwrap(),
        "--compute",
        compute,
    ];
    args.extend_from_slice(extra);
    let o = insiders(&args);
    (o, t.elapsed().as_secs_f64())
}

/// The three places on one shop's lines: the same table and accounting as local. Ballista
/// reads `ballista_data` (the same lines without gzip: Ballista 55 cannot read it).
fn three_way(data: &str, ballista_data: &str, local_data: &str, cluster: &InProcessCluster) {
    let d = tempfile::tempdir().unwrap();
    let ballista = format!("ballista://{}", cluster.scheduler);
    let mut outs = Vec::new();
    for (compute, input) in [
        ("local", local_data),
        ("datafusion", data),
        (ballista.as_str(), ballista_data),
    ] {
        let out = d.path().join(compute.replace([':', '/'], "_"));
        let (o, secs) = features(input, &out, compute, &[]);
        assert!(o.status.success(), "{compute}: {}", text(&o));
        println!("features --compute {compute} --data {input}: {secs:.2} s");
        outs.push((compute, out));
    }
    for (compute, out) in &outs[1..] {
        assert_same_table(&outs[0].1, out, compute);
        assert_eq!(
            accounting(&outs[0].1),
            accounting(out),
            "{compute}: accounting"
        );
    }
}

#[test]
fn real_data_gives_the_same_table_and_accounting_on_datafusion_and_ballista() {
    let Some(data) = insiders_fixtures::real_data() else {
        return;
    };
    let data = data.to_str().unwrap();
    let cluster = in_process_cluster();
    // Ballista 55 cannot read gzip CSV (docs/distributed.md): the cluster reads a plain copy.
    let d0 = tempfile::tempdir().unwrap();
    let plain = d0.path().join("online-retail.csv");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(data).unwrap()),
        &mut bytes,
    )
    .unwrap();
    std::fs::write(&plain, bytes).unwrap();
    three_way(data, plain.to_str().unwrap(), data, &cluster);
    let data = plain.to_str().unwrap();
    // And therefore the same `insiders run` answers: the same Insiders.
    let d = tempfile::tempdir().unwrap();
    let ballista = format!("ballista://{}", cluster.scheduler);
    let mut insiders_of = Vec::new();
    for compute in ["local", ballista.as_str()] {
        let out = d.path().join(compute.replace([':', '/'], "_"));
        let o = insiders(&[
            "run",
            "--data",
            data,
            "--out",
            out.to_str().unwrap(),
            "--compute",
            compute,
        ]);
        assert!(o.status.success(), "run --compute {compute}: {}", text(&o));
        // The same Insiders (their feature values may differ in the last bits).
        insiders_of.push(common::insider_ids(&out));
    }
    assert_eq!(insiders_of[0], insiders_of[1], "the Insiders of run");
}

/// `insiders synth --customers N --seed S` into `dir/shop.csv`.
fn synth(dir: &Path, customers: u32, seed: u64) -> PathBuf {
    let shop = dir.join("shop.csv");
    let o = insiders(&[
        "synth",
        "--customers",
        &customers.to_string(),
        "--seed",
        &seed.to_string(),
        "--out",
        shop.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    shop
}

/// Field `k` of a CSV line (quote-aware: descriptions may hold quoted commas).
fn csv_field(line: &str, k: usize) -> String {
    let (mut field, mut n, mut quoted) = (String::new(), 0, false);
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                if n == k {
                    return field;
                }
                n += 1;
                field.clear();
            }
            c => field.push(c),
        }
    }
    field
}

/// Writes `shop.csv`'s lines into one file per invoice month (`YYYY-MM`), each with the
/// header, in `dir`; returns the months.
fn split_by_month(shop: &Path, dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(shop).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let date_col = header.split(',').position(|h| h == "InvoiceDate").unwrap();
    let mut months: BTreeMap<String, String> = BTreeMap::new();
    for l in lines {
        let month = csv_field(l, date_col)[..7].to_string();
        let body = months.entry(month).or_insert_with(|| format!("{header}\n"));
        body.push_str(l);
        body.push('\n');
    }
    for (m, body) in &months {
        std::fs::write(dir.join(format!("shop-{m}.csv")), body).unwrap();
    }
    months.into_keys().collect()
}

fn gzip(path: &Path) -> PathBuf {
    let gz = PathBuf::from(format!("{}.gz", path.display()));
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    e.write_all(&std::fs::read(path).unwrap()).unwrap();
    e.finish().unwrap();
    gz
}

/// A Parquet copy of a CSV file (every column as text), written by DataFusion.
fn parquet(csv: &Path, out: &Path) {
    use insiders_distributed::datafusion::dataframe::DataFrameWriteOptions;
    use insiders_distributed::datafusion::prelude::{CsvReadOptions, SessionContext};
    let rt = insiders_distributed::runtime().unwrap();
    rt.block_on(async {
        let ctx = SessionContext::new();
        let df = ctx
            .read_csv(
                csv.to_str().unwrap(),
                CsvReadOptions::new().schema_infer_max_records(0),
            )
            .await
            .unwrap();
        df.write_parquet(
            out.to_str().unwrap(),
            DataFrameWriteOptions::new().with_single_file_output(true),
            None,
        )
        .await
        .unwrap();
    });
}

#[test]
fn a_synthetic_shop_in_monthly_files_gives_the_same_table_and_accounting() {
    let d = tempfile::tempdir().unwrap();
    let shop = synth(d.path(), 3000, 11);
    let split = d.path().join("months");
    std::fs::create_dir(&split).unwrap();
    let months = split_by_month(&shop, &split);
    assert!(months.len() >= 12, "{months:?}");
    for m in &months {
        gzip(&split.join(format!("shop-{m}.csv")));
    }
    let cluster = in_process_cluster();
    let local = shop.to_str().unwrap();
    // Every month as gzip CSV (plain CSV for Ballista), by a pattern.
    three_way(
        &format!("{}/shop-*.csv.gz", split.display()),
        &format!("{}/shop-*.csv", split.display()),
        local,
        &cluster,
    );
    // A list of inputs of three kinds: plain CSV, gzip CSV and Parquet months.
    let mixed = d.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    let mut inputs = Vec::new();
    for (k, m) in months.iter().enumerate() {
        let csv = split.join(format!("shop-{m}.csv"));
        match k % 3 {
            0 => {
                std::fs::copy(&csv, mixed.join(format!("shop-{m}.csv"))).unwrap();
            }
            1 => {
                std::fs::copy(gzip(&csv), mixed.join(format!("shop-{m}.csv.gz"))).unwrap();
            }
            _ => parquet(&csv, &mixed.join(format!("shop-{m}.parquet"))),
        }
    }
    for ext in ["csv", "csv.gz", "parquet"] {
        inputs.push(format!("{}/*.{ext}", mixed.display()));
    }
    // Ballista 55 cannot read gzip CSV (docs/distributed.md): its mix is plain CSV and Parquet.
    let mixed2 = d.path().join("mixed2");
    std::fs::create_dir(&mixed2).unwrap();
    for (k, m) in months.iter().enumerate() {
        let csv = split.join(format!("shop-{m}.csv"));
        if k % 2 == 0 {
            std::fs::copy(&csv, mixed2.join(format!("shop-{m}.csv"))).unwrap();
        } else {
            parquet(&csv, &mixed2.join(format!("shop-{m}.parquet")));
        }
    }
    let no_gz: Vec<String> = ["csv", "parquet"]
        .iter()
        .map(|ext| format!("{}/*.{ext}", mixed2.display()))
        .collect();
    let cfg = insiders_pipeline::Config::default();
    let local_out = {
        let loaded = insiders_ingest::read_path(&shop, &cfg.input).unwrap();
        let cleaned =
            insiders_features::clean(&loaded.lines, &loaded.report, &cfg.cleaning).unwrap();
        let table = insiders_features::customer_table(&loaded.lines, &cleaned).unwrap();
        (cleaned, table)
    };
    for compute in [
        "datafusion".to_string(),
        format!("ballista://{}", cluster.scheduler),
    ] {
        let c: insiders_distributed::Compute = compute.parse().unwrap();
        let inputs = if compute == "datafusion" {
            &inputs
        } else {
            &no_gz
        };
        let out = insiders_distributed::compute(
            inputs,
            &cfg.input,
            &cfg.cleaning,
            &c,
            &insiders_distributed::Limits::default(),
        )
        .unwrap();
        assert_eq!(
            out.table.customer_id, local_out.1.customer_id,
            "{compute}: ids"
        );
        for (j, (a, b)) in out.table.values.iter().zip(&local_out.1.values).enumerate() {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let ok = (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-9 * x.abs().max(y.abs());
                assert!(
                    ok,
                    "{compute}: customer {} {}: {x} against {y}",
                    out.table.customer_id[i], out.table.columns[j]
                );
            }
        }
        let mut local_account = local_out.0.account.clone();
        local_account.source = out.account.source.clone();
        assert_eq!(out.account, local_account, "{compute}: accounting");
        assert_eq!(out.last_day, local_out.0.last_day, "{compute}: last day");
    }
}

/// A child process that is killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_insiders"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn an_executor_killed_mid_query_is_retried_or_a_clear_error_never_a_partial_output() {
    let d = tempfile::tempdir().unwrap();
    let shop = synth(d.path(), 20000, 5);
    let split = d.path().join("months");
    std::fs::create_dir(&split).unwrap();
    split_by_month(&shop, &split);
    let sport = free_port_pair();
    let scheduler = format!("127.0.0.1:{sport}");
    let _s = spawn(&["ballista", "scheduler", "--bind", &scheduler]);
    std::thread::sleep(Duration::from_millis(500));
    let mut executors = Vec::new();
    for k in 0..2 {
        let bind = format!("127.0.0.1:{}", free_port_pair());
        let work = d.path().join(format!("work-{k}"));
        executors.push(spawn(&[
            "ballista",
            "executor",
            "--scheduler",
            &scheduler,
            "--bind",
            &bind,
            "--work-dir",
            work.to_str().unwrap(),
            "--concurrent-tasks",
            "2",
        ]));
    }
    std::thread::sleep(Duration::from_secs(2));
    let local = d.path().join("local");
    let (o, _) = features(shop.to_str().unwrap(), &local, "local", &[]);
    assert!(o.status.success(), "{}", text(&o));
    let out = d.path().join("ballista");
    let glob = format!("{}/shop-*.csv", split.display());
    let t = Instant::now();
    let mut client = Command::new(env!("CARGO_BIN_EXE_insiders"))
        .args([
            "features",
            "--data",
            &glob,
            "--out",
            out.to_str().unwrap(),
            "--compute",
            &format!("ballista://{scheduler}"),
            "--compute-timeout",
            "240",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let running = client.try_wait().unwrap().is_none();
    drop(executors.remove(0)); // kills the first executor
    let o = client.wait_with_output().unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "executor killed at 1.5 s (query still running: {running}); the client ended after {secs:.1} s with {}:\n{}",
        o.status,
        text(&o)
    );
    assert!(
        running,
        "the query ended before the kill: make the shop larger"
    );
    assert!(secs < 250.0, "no hang");
    if o.status.success() {
        assert_same_table(&local, &out, "after the retry");
    } else {
        let t = text(&o);
        assert!(t.contains("--compute ballista://"), "{t}");
        for f in ["customers.csv", "scaled.csv", "row_accounting.json"] {
            assert!(!out.join(f).exists(), "partial output {f}");
        }
    }
}

#[test]
fn an_unreachable_scheduler_is_a_clear_error_naming_the_address() {
    let Some(data) = insiders_fixtures::real_data() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = d.path().join("out");
    let t = Instant::now();
    let (o, _) = features(
        data.to_str().unwrap(),
        &out,
        &format!("ballista://127.0.0.1:{port}"),
        &[],
    );
    let e = text(&o);
    assert!(!o.status.success());
    assert!(
        e.contains(&format!(
            "cannot reach the Ballista scheduler at 127.0.0.1:{port} within {} s",
            insiders_distributed::CONNECT_TIMEOUT_SECONDS
        )),
        "{e}"
    );
    assert!(t.elapsed() < Duration::from_secs(insiders_distributed::CONNECT_TIMEOUT_SECONDS + 5));
    assert!(!out.exists(), "nothing written");
}

#[test]
fn malformed_rows_are_counted_alike_or_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("bad.csv");
    std::fs::write(
        &input,
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
         536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n\
         536366,71053,LANTERN,six,2010-12-01 08:28:00,3.39,17850.0,United Kingdom\n\
         536367,22752,SET,2,2010-12-01 08:34:00,7.65,,United Kingdom\n\
         536368,21730,GLASS,6,2010-13-01 08:34:00,4.25,13047.0,United Kingdom\n\
         536369,22633,HAND,6,2010-12-02 09:00:00,1.85,13047.0,France\n",
    )
    .unwrap();
    let data = input.to_str().unwrap();
    // Skipped: the same buckets.
    let (a, b) = (d.path().join("local"), d.path().join("df"));
    let (o, _) = features(data, &a, "local", &["--on-bad-row", "skip"]);
    assert!(o.status.success(), "{}", text(&o));
    let (o, _) = features(data, &b, "datafusion", &["--on-bad-row", "skip"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_same_table(&a, &b, "datafusion, skip");
    assert_eq!(accounting(&a), accounting(&b));
    // An error: the local path names the line, the plan the column and the value.
    let (c, e) = (d.path().join("local-e"), d.path().join("df-e"));
    let (o, _) = features(data, &c, "local", &[]);
    assert!(
        !o.status.success() && text(&o).contains("line 3"),
        "{}",
        text(&o)
    );
    let (o, _) = features(data, &e, "datafusion", &[]);
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(
        t.contains("column Quantity")
            && t.contains("quantity `six` is not an integer")
            && t.contains("2 malformed rows"),
        "{t}"
    );
    assert!(!e.exists(), "nothing written");
}
