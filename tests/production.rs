//! The Insiders in production, with real parts: a throwaway PostgreSQL server
//! (tests/pg/cluster.sh), `insiders serve` over HTTP on loopback, and the dashboard in
//! headless Chromium. Without PostgreSQL or Chromium a test skips with a reason, and fails
//! under `CI=true` (.ci/run installs both).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::http::Server;
use common::pg::Pg;
use common::webdriver::Browser;
use common::{insiders, text};
use insiders_history::{Error, Membership, RunDocuments, RunRecord, Store};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn record(as_of: &str, insiders_cluster: i64) -> RunRecord {
    RunRecord {
        as_of: as_of.into(),
        config_hash: "0123456789abcdef".into(),
        data_fingerprint: "f00d".into(),
        seed: u64::MAX - 1,
        model: "ward k=10 on the forest space".into(),
        insiders_cluster,
        tool_version: "0.1.0".into(),
    }
}

/// 400 customers in 5 clusters, shuffled by month; some customers appear only later.
fn members(month: i64, salt: i64) -> Vec<Membership> {
    (1..=400)
        .filter(|c| c % 13 != month % 13 || month == 1)
        .map(|c| {
            let cluster = (c * 7 + month * 3 + salt) % 5;
            Membership {
                customer_id: 12_000 + c,
                cluster,
                insider: cluster == 0,
            }
        })
        .collect()
}

fn docs(as_of: &str) -> RunDocuments {
    RunDocuments {
        answers: format!(
            "{{\"run\": {{\"as_of\": \"{as_of}\"}}, \"q2_how_many\": {{\"insiders\": 1}}}}"
        ),
        insiders_csv: "customer_id,cluster,distance_to_centre,gross_revenue\n12001,0,0.5,10.25\n"
            .into(),
        report_html: format!("<html><body>report of {as_of}</body></html>"),
    }
}

/// Everything a store answers, without what differs by backend (ids, recording times).
fn everything(s: &mut dyn Store) -> Value {
    let runs = s.all_runs().unwrap();
    let mut out = Vec::new();
    for r in &runs {
        let m: Vec<(i64, i64, bool)> = s
            .memberships(r.id)
            .unwrap()
            .iter()
            .map(|m| (m.customer_id, m.cluster, m.insider))
            .collect();
        let d = s
            .documents(r.id)
            .unwrap()
            .map(|d| (d.answers, d.insiders_csv, d.report_html));
        out.push(serde_json::json!({
            "as_of": r.record.as_of, "customers": r.customers, "insiders": r.insiders,
            "clusters": r.clusters, "seed": r.record.seed, "model": r.record.model,
            "insiders_cluster": r.record.insiders_cluster, "config": r.record.config_hash,
            "memberships": m, "documents": d,
        }));
    }
    let flows: Vec<Value> = s
        .all_transitions()
        .unwrap()
        .iter()
        .map(|t| {
            let cf: Vec<(i64, i64, usize)> = s
                .cluster_flows(t.from, t.to)
                .unwrap()
                .iter()
                .map(|f| (f.from_cluster, f.to_cluster, f.customers))
                .collect();
            serde_json::json!([
                t.from_as_of,
                t.to_as_of,
                t.flows.entered,
                t.flows.left,
                t.flows.stayed,
                cf
            ])
        })
        .collect();
    let customers: Vec<Value> = [12_001, 12_013, 12_026, 12_399, 99_999]
        .iter()
        .map(|&c| {
            let e: Vec<(String, i64, bool)> = s
                .customer_runs(c)
                .unwrap()
                .into_iter()
                .map(|e| (e.as_of, e.cluster, e.insider))
                .collect();
            serde_json::json!(e)
        })
        .collect();
    serde_json::json!({ "runs": out, "flows": flows, "customers": customers })
}

#[test]
fn postgresql_history_answers_as_the_sqlite_one() {
    let Some(pg) = Pg::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("h.sqlite");
    let mut sq = insiders_history::open(sqlite.to_str().unwrap(), true).unwrap();
    let mut pq = insiders_history::open(&pg.url, true).unwrap();
    // The migrations ran on first use.
    assert_eq!(pg.psql("SELECT version FROM schema_version"), "2");
    let months = ["2011-01-01", "2011-02-01", "2011-03-01"];
    let mut old_february = None;
    for store in [sq.as_mut(), pq.as_mut()] {
        for (i, m) in months.iter().enumerate() {
            let id = store
                .record_run_with(&record(m, 0), &members(i as i64 + 1, 0), Some(&docs(m)))
                .unwrap();
            if i == 1 && store.location().starts_with("postgresql") {
                old_february = Some(id);
            }
        }
        // A rerun of February replaces it, in one transaction.
        store
            .record_run_with(&record(months[1], 0), &members(2, 3), Some(&docs("rerun")))
            .unwrap();
        // Invalid runs are refused before anything is written.
        let twice = [members(1, 0)[0], members(1, 0)[0]];
        assert!(matches!(
            store.record_run_with(&record("2011-04-01", 0), &twice, None),
            Err(Error::DuplicateCustomer { .. })
        ));
    }
    let (a, b) = (everything(sq.as_mut()), everything(pq.as_mut()));
    assert_eq!(a, b, "SQLite and PostgreSQL answer differently");
    assert_eq!(a["runs"].as_array().unwrap().len(), 3);
    assert_eq!(
        a["runs"][1]["documents"][2],
        "<html><body>report of rerun</body></html>"
    );
    // The replaced run is gone with its memberships and documents.
    let old = old_february.unwrap();
    assert!(matches!(pq.run_by_id(old), Err(Error::UnknownRun(_))));
    assert_eq!(
        pg.psql(&format!(
            "SELECT (SELECT count(*) FROM memberships WHERE run_id = {0}) + \
             (SELECT count(*) FROM run_documents WHERE run_id = {0})",
            old.0
        )),
        "0"
    );
    // The BI views agree with the library.
    let views = pg.psql(
        "SELECT to_char(as_of, 'YYYY-MM-DD'), entered, exited FROM monthly_flows ORDER BY as_of",
    );
    let expected: Vec<String> = a["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}|{}|{}",
                f[1].as_str().unwrap(),
                f[2].as_array().unwrap().len(),
                f[3].as_array().unwrap().len()
            )
        })
        .collect();
    assert_eq!(views, expected.join("\n"));
    let current = pg.psql("SELECT count(*) FROM current_insiders");
    assert_eq!(current, a["runs"][2]["insiders"].to_string());
    // The listing of `insiders history` is the same text, but for the location.
    let listing = |s: &mut dyn Store| {
        let mut out = Vec::new();
        insiders_history::write_listing(s, None, &mut out).unwrap();
        String::from_utf8(out).unwrap().replace(&s.location(), "DB")
    };
    assert_eq!(listing(sq.as_mut()), listing(pq.as_mut()));

    // Both backends served: the same JSON but for ids and recording times.
    let strip = |mut v: Value| {
        for r in v["runs"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("run_id");
            r.as_object_mut().unwrap().remove("recorded_at");
        }
        v
    };
    drop(sq);
    let s1 = Server::start(sqlite.to_str().unwrap(), &[], &[]);
    let s2 = Server::start(&pg.url, &[], &[]);
    assert_eq!(
        strip(s1.get("/api/runs").json()),
        strip(s2.get("/api/runs").json())
    );
    for path in ["/api/customers/12013", "/api/runs/2011-03-01/insiders"] {
        assert_eq!(s1.get(path).json(), s2.get(path).json(), "{path}");
    }

    // A database from a newer insiders is refused, by the library and the commands.
    pg.psql("UPDATE schema_version SET version = 99");
    drop(pq);
    assert!(matches!(
        insiders_history::open(&pg.url, true),
        Err(Error::NewerSchema { found: 99, .. })
    ));
    let o = insiders(&["history", "--db", &pg.url]);
    assert!(!o.status.success());
    assert!(text(&o).contains("schema version 99"), "{}", text(&o));
}

/// `insiders run` on the synthetic shop into `db` for `as_of`, with few refits.
fn run(dir: &Path, db: &str, as_of: &str, seed: &str) -> PathBuf {
    let cfg = dir.join("fast.toml");
    std::fs::write(&cfg, "[stability]\nseeds = 1\nsubsamples = 1\n").unwrap();
    let out = dir.join(format!("{as_of}-{seed}"));
    let o = insiders(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--as-of",
        as_of,
        "--seed",
        seed,
        "--out",
        out.to_str().unwrap(),
        "--db",
        db,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    out
}

fn chromium() -> Option<PathBuf> {
    let bin = std::env::var_os("INSIDERS_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    required(bin, "chromium")
}

fn chromedriver() -> Option<PathBuf> {
    required(PathBuf::from("/usr/bin/chromedriver"), "chromium-driver")
}

/// `bin` if it exists; else skip with a reason, or fail under `CI=true`.
fn required(bin: PathBuf, package: &str) -> Option<PathBuf> {
    if bin.is_file() {
        return Some(bin);
    }
    let msg = format!("{} not found (apt-get install -y {package})", bin.display());
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}: a failure in CI");
    }
    eprintln!("SKIP the browser checks: {msg}");
    None
}

/// Headless Chromium on `url`: `--dump-dom` (the DOM after load) or `--screenshot=PNG`.
fn browse(bin: &Path, url: &str, what: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1400,2300",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(what)
        .arg(url)
        .output()
        .unwrap();
    assert!(o.status.success(), "chromium {what}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn serve_answers_over_http_survives_a_restart_and_a_rerun() {
    let Some(pg) = Pg::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let may = run(dir.path(), &pg.url, "2011-05-01", "42");
    let june = run(dir.path(), &pg.url, "2011-06-01", "42");
    let answers: Value =
        serde_json::from_str(&std::fs::read_to_string(june.join("answers.json")).unwrap()).unwrap();
    let insiders_csv = std::fs::read_to_string(june.join("insiders.csv")).unwrap();
    let first_insider = insiders_csv
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    assert!(may.join("answers.json").is_file());

    let s = Server::start(&pg.url, &[], &[]);
    let health = s.get("/api/health");
    assert_eq!(
        (health.status, health.json()["runs"].as_u64()),
        (200, Some(2))
    );
    // Every run, with the flows since the run before.
    let runs = s.get("/api/runs").json();
    let since = &answers["q7_conditions_to_leave"]["since_previous"];
    assert_eq!(runs["runs"][0]["as_of"], "2011-05-01");
    assert_eq!(runs["runs"][0]["entered"], Value::Null);
    assert_eq!(
        runs["runs"][1]["entered"].as_u64().unwrap() as usize,
        since["entered"].as_array().unwrap().len()
    );
    assert_eq!(
        runs["runs"][1]["left"].as_u64().unwrap() as usize,
        since["left"].as_array().unwrap().len()
    );
    assert_eq!(
        runs["runs"][1]["insiders"],
        answers["q2_how_many"]["insiders"]
    );
    // One run: its summary and its answers as the run wrote them.
    let one = s.get("/api/runs/2011-06-01");
    assert_eq!(one.status, 200);
    assert_eq!(one.header("content-type"), Some("application/json"));
    assert_eq!(one.json()["answers"], answers);
    // Its Insiders: JSON with features, or the CSV as written.
    let list = s.get("/api/runs/2011-06-01/insiders").json();
    assert_eq!(
        list["count"].as_u64().unwrap() as usize,
        insiders_csv.lines().count() - 1
    );
    assert_eq!(
        list["insiders"][0]["customer_id"].to_string(),
        first_insider
    );
    assert!(list["insiders"][0]["features"]["gross_revenue"].is_number());
    assert!(list["insiders"][0].get("insider_probability").is_some());
    let csv = s.get_with("/api/runs/2011-06-01/insiders", &[("Accept", "text/csv")]);
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert_eq!(csv.body, insiders_csv);
    // One customer, run by run.
    let c = s.get(&format!("/api/customers/{first_insider}")).json();
    assert_eq!(c["runs"].as_array().unwrap().len(), 2);
    assert_eq!(c["runs"][1]["insider"], true);
    assert_eq!(c["runs"][1]["as_of"], "2011-06-01");
    // Bad input: 400 or 404 with a JSON message, never a panic.
    for (path, status) in [
        ("/api/runs/2011-13-01", 400),
        ("/api/runs/not-a-date", 400),
        ("/api/runs/2011-02-30/insiders", 400),
        ("/api/customers/12a", 400),
        ("/api/customers/1%27%20OR%201=1", 400),
        ("/api/customers/99999999999999999999", 400),
        ("/api/runs/2011-02-01", 404),
        ("/api/runs/2011-02-01/insiders", 404),
        ("/api/customers/1", 404),
        ("/api/nothing", 404),
        ("/runs/2011-02-01/report", 404),
    ] {
        let a = s.get(path);
        assert_eq!(a.status, status, "{path}: {}", a.body);
        assert!(a.json()["error"].is_string(), "{path}");
    }
    let long = format!("/api/runs/{}", "9".repeat(3000));
    assert_eq!(s.get(&long).status, 414);
    let big = s.get_with("/api/runs", &[("Content-Length", "1000000")]);
    assert_eq!(big.status, 413, "{}", big.body);
    // The dashboard and the report.
    let page = s.get("/");
    assert_eq!(page.status, 200);
    for id in [
        "insiders-over-time",
        "entries-and-exits",
        "cluster-flows",
        "answers",
        "lookup",
    ] {
        assert!(
            page.body.contains(&format!("id=\"{id}\"")),
            "dashboard without {id}"
        );
    }
    assert_eq!(s.get("/?customer=abc").status, 400);
    let report = s.get("/runs/2011-06-01/report");
    assert_eq!(
        report.body,
        std::fs::read_to_string(june.join("report.html")).unwrap()
    );

    // The dashboard in a real browser: the charts render, the lookup answers, a screenshot.
    if let Some(bin) = chromium() {
        let url = format!("http://{}/?customer={first_insider}", s.addr);
        let dom = browse(&bin, &url, "--dump-dom");
        assert!(
            dom.matches("<svg").count() >= 3,
            "charts missing from the DOM"
        );
        assert!(
            dom.contains("<polyline") || dom.contains("<path"),
            "no line drawn"
        );
        let table = &dom[dom.find("id=\"customer\"").expect("no lookup table")..];
        assert_eq!(table.matches("<tr>").count(), 3, "header + 2 runs");
        assert!(table.contains("yes"));
        let png = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
        let _ = std::fs::remove_file(&png);
        browse(&bin, &url, &format!("--screenshot={}", png.display()));
        let bytes = std::fs::read(&png).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
            "screenshot too small"
        );
        println!("dashboard screenshot: {}", png.display());

        // As a person uses it, through WebDriver: the charts have a size on the screen, the
        // lookup form takes an id and shows that customer's runs, or says what is wrong.
        if let Some(driver) = chromedriver() {
            let b = Browser::start(driver.to_str().unwrap(), bin.to_str().unwrap());
            b.open(&format!("http://{}/", s.addr));
            let sizes = b.script(
                "return Array.from(document.querySelectorAll('.chart svg'))\
                 .map(s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height])",
            );
            let sizes = sizes.as_array().unwrap();
            assert_eq!(sizes.len(), 3, "{sizes:?}");
            for wh in sizes {
                assert!(wh[0].as_f64().unwrap() > 300.0 && wh[1].as_f64().unwrap() > 200.0);
            }
            let input = b.find("#lookup input[name=customer]");
            b.type_into(&input, &first_insider);
            b.click(&b.find("#lookup button"));
            let table = b.text(&b.find("#customer"));
            assert!(
                b.url().ends_with(&format!("/?customer={first_insider}")),
                "{}",
                b.url()
            );
            assert!(
                table.contains("2011-05-01") && table.contains("2011-06-01"),
                "{table}"
            );
            assert!(table.contains("yes"), "{table}");
            let input = b.find("#lookup input[name=customer]");
            b.script("document.querySelector('#lookup input').value = ''");
            b.type_into(&input, "not-a-number");
            b.click(&b.find("#lookup button"));
            let err = b.text(&b.find("#lookup-error"));
            assert!(err.contains("malformed customer id"), "{err}");
            let shot = b.screenshot();
            assert!(shot.starts_with(b"\x89PNG"), "a PNG screenshot");
        }
    }

    // With a token (flag or environment), everything else is 401.
    for (args, env, token) in [
        (vec!["--token", "s3cret"], vec![], "s3cret"),
        (vec![], vec![("INSIDERS_TOKEN", "from-env")], "from-env"),
    ] {
        let t = Server::start(&pg.url, &args, &env);
        for path in ["/api/runs", "/api/health", "/", "/api/customers/abc"] {
            let a = t.get(path);
            assert_eq!(a.status, 401, "{path}");
            assert_eq!(a.header("www-authenticate"), Some("Bearer"));
            assert!(a.json()["error"].is_string());
            assert_eq!(
                t.get_with(path, &[("Authorization", "Bearer wrong")])
                    .status,
                401
            );
            assert_eq!(t.get_with(path, &[("Authorization", token)]).status, 401);
        }
        let auth = format!("Bearer {token}");
        let ok = t.get_with("/api/runs", &[("Authorization", &auth)]);
        assert_eq!(ok.status, 200);
        assert_eq!(
            t.get_with("/api/customers/abc", &[("Authorization", &auth)])
                .status,
            400
        );
    }

    // PostgreSQL restarted under serve: 503 while it is away, answers again after.
    let before = s.get("/api/runs").body;
    pg.down();
    for path in ["/api/runs", "/api/health", "/api/runs/2011-06-01", "/"] {
        let a = s.get(path);
        assert_eq!(a.status, 503, "{path}: {}", a.body);
    }
    assert!(
        s.get("/api/runs").json()["error"]
            .as_str()
            .unwrap()
            .contains("unavailable")
    );
    pg.up();
    let t0 = Instant::now();
    let mut after = s.get("/api/runs");
    while after.status != 200 && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
        after = s.get("/api/runs");
    }
    assert_eq!((after.status, after.body), (200, before));
    println!("recovered {:?} after the restart", t0.elapsed());
    // Restarted between two requests: the kept connections are stale, the next request
    // reconnects by itself and answers.
    pg.down();
    pg.up();
    let a = s.get("/api/runs");
    assert_eq!(a.status, 200, "{}", a.body);

    // A rerun of June while serve answers: every answer is the old run or the new one whole.
    let old_id = one.json()["run_id"].as_i64().unwrap();
    let addr = s.addr.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let a = common::http::get(&addr, "/api/runs/2011-06-01", &[]).unwrap();
                assert_eq!(a.status, 200, "{}", a.body);
                let v = a.json();
                assert_eq!(v["insiders"], v["answers"]["q2_how_many"]["insiders"]);
                assert_eq!(v["answers"]["run"]["seed"], v["seed"], "half a run");
                seen.push(v["run_id"].as_i64().unwrap());
            }
            seen
        })
    };
    let rerun = run(dir.path(), &pg.url, "2011-06-01", "7");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = poller.join().unwrap();
    let new_id = s.get("/api/runs/2011-06-01").json()["run_id"]
        .as_i64()
        .unwrap();
    assert_ne!(new_id, old_id);
    assert!(seen.iter().all(|id| *id == old_id || *id == new_id));
    assert_eq!((seen.first(), seen.last()), (Some(&old_id), Some(&new_id)));
    println!("{} answers during the rerun, old run then new", seen.len());
    // The rerun replaced June: still two runs, the new seed's answers.
    let runs = s.get("/api/runs").json();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2);
    assert_eq!(runs["runs"][1]["seed"], 7);
    assert!(rerun.join("answers.json").is_file());
}
