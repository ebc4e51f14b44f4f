//! `cargo xtask load`: a load test of `insiders serve` on loopback. N concurrent clients
//! (keep-alive HTTP/1.1 connections, one thread each) for S seconds alternate
//! `GET /api/runs/{as_of}/insiders` (the latest run) and `GET /api/customers/{id}` (its
//! Insiders in turn), then the p50/p99/max latency, the throughput and the errors are printed
//! per endpoint. Only 127.0.0.1 traffic: a non-loopback address is refused. With `--db`, a
//! release `insiders serve` is started on a free loopback port and stopped afterwards.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The usage lines of the command.
pub const USAGE: &str =
    "  load (--db DB | --addr 127.0.0.1:PORT) [--clients 50] [--seconds 20] [--token T]
        load test of `insiders serve` on loopback: p50/p99 latency and errors of
        /api/runs/{as_of}/insiders and /api/customers/{id}; --db starts a release server";

/// The longest run allowed (the test is bounded in time).
const MAX_SECONDS: u64 = 300;

#[derive(Debug)]
struct Args {
    db: Option<String>,
    addr: Option<SocketAddr>,
    clients: usize,
    seconds: u64,
    token: Option<String>,
}

fn parse(args: &[String]) -> Result<Args> {
    let mut a = Args {
        db: None,
        addr: None,
        clients: 50,
        seconds: 20,
        token: None,
    };
    let mut it = args.iter();
    while let Some(x) = it.next() {
        let mut value = || it.next().with_context(|| format!("{x} needs a value"));
        match x.as_str() {
            "--db" => a.db = Some(value()?.clone()),
            "--addr" => a.addr = Some(value()?.parse().context("--addr: write IP:PORT")?),
            "--clients" => a.clients = value()?.parse().context("--clients: a number")?,
            "--seconds" => a.seconds = value()?.parse().context("--seconds: a number")?,
            "--token" => a.token = Some(value()?.clone()),
            other => bail!("load: unknown argument `{other}`\n\nusage:\n{USAGE}"),
        }
    }
    if a.db.is_some() == a.addr.is_some() {
        bail!("load: give --db or --addr\n\nusage:\n{USAGE}");
    }
    if a.addr.is_some_and(|s| !s.ip().is_loopback()) {
        bail!("load: only loopback addresses (127.0.0.1) are load-tested");
    }
    if a.clients == 0 || a.seconds == 0 || a.seconds > MAX_SECONDS {
        bail!("load: --clients at least 1, --seconds 1..={MAX_SECONDS}");
    }
    Ok(a)
}

/// A keep-alive HTTP/1.1 connection.
struct Conn {
    addr: SocketAddr,
    auth: Option<String>,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn new(addr: SocketAddr, token: Option<&str>) -> Self {
        Conn {
            addr,
            auth: token.map(|t| format!("Authorization: Bearer {t}\r\n")),
            stream: None,
        }
    }

    /// `GET path`: the status and the body; reconnects once if the connection was closed.
    fn get(&mut self, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
        match self.try_get(path) {
            Ok(r) => Ok(r),
            Err(_) => {
                self.stream = None;
                self.try_get(path)
            }
        }
    }

    fn try_get(&mut self, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
        if self.stream.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
            s.set_read_timeout(Some(Duration::from_secs(30)))?;
            s.set_nodelay(true)?;
            self.stream = Some(BufReader::new(s));
        }
        let r = self
            .stream
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no connection"))?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{}\r\n",
            self.addr,
            self.auth.as_deref().unwrap_or("")
        );
        r.get_mut().write_all(req.as_bytes())?;
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("connection closed"));
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| std::io::Error::other("bad status line"))?;
        let mut length = None;
        let mut close = false;
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let l = line.trim_end().to_ascii_lowercase();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.strip_prefix("content-length:") {
                length = v.trim().parse::<usize>().ok();
            }
            close |= l.starts_with("connection:") && l.contains("close");
        }
        let n = length.ok_or_else(|| std::io::Error::other("no content-length"))?;
        let mut body = vec![0; n];
        r.read_exact(&mut body)?;
        if close {
            self.stream = None;
        }
        Ok((status, body))
    }
}

/// Latencies of one endpoint.
#[derive(Debug, Default)]
struct Tally {
    micros: Vec<u64>,
    errors: usize,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.micros.extend(other.micros);
        self.errors += other.errors;
    }

    fn line(&mut self, name: &str, seconds: f64) -> String {
        self.micros.sort_unstable();
        let q = |p: usize| {
            self.micros
                .get((self.micros.len() * p / 100).min(self.micros.len().saturating_sub(1)))
                .map_or(0.0, |&m| m as f64 / 1000.0)
        };
        format!(
            "{name:<34} {:>8} {:>9.1} {:>9.2} {:>9.2} {:>9.2} {:>7}",
            self.micros.len(),
            self.micros.len() as f64 / seconds,
            q(50),
            q(99),
            self.micros.last().map_or(0.0, |&m| m as f64 / 1000.0),
            self.errors
        )
    }
}

/// A release `insiders serve` on a free loopback port, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(db: &str, token: Option<&str>) -> Result<(Server, SocketAddr)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(crate::workspace_root())
        .args(["build", "--quiet", "--release", "-p", "insiders"])
        .status()?;
    if !status.success() {
        bail!("building insiders failed ({status})");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| crate::workspace_root().join("target"), PathBuf::from);
    let mut cmd = Command::new(target.join("release/insiders"));
    cmd.args(["serve", "--db", db, "--addr", "127.0.0.1:0"])
        .env_remove("INSIDERS_TOKEN")
        .stdout(Stdio::piped());
    if let Some(t) = token {
        cmd.args(["--token", t]);
    }
    let mut child = cmd.spawn().context("starting insiders serve")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let addr = line
        .strip_prefix("listening on http://")
        .and_then(|r| r.split_whitespace().next())
        .with_context(|| format!("insiders serve did not start: {line:?}"))?
        .parse()?;
    Ok((server, addr))
}

/// Parses the arguments after `load` and runs the load test.
pub fn main(args: &[String]) -> Result<()> {
    let a = parse(args)?;
    let (_server, addr) = match (&a.db, a.addr) {
        (Some(db), _) => {
            let (s, addr) = start_server(db, a.token.as_deref())?;
            (Some(s), addr)
        }
        (None, Some(addr)) => (None, addr),
        (None, None) => bail!("load: give --db or --addr"),
    };
    let token = a.token.as_deref();
    // The targets: the latest run and its Insiders.
    let mut c = Conn::new(addr, token);
    let (status, body) = c.get("/api/runs")?;
    if status != 200 {
        bail!("GET /api/runs answered {status}");
    }
    let runs: serde_json::Value = serde_json::from_slice(&body)?;
    let as_of = runs["runs"]
        .as_array()
        .and_then(|r| r.last())
        .and_then(|r| r["as_of"].as_str())
        .context("the history has no run")?
        .to_string();
    let (_, body) = c.get(&format!("/api/runs/{as_of}/insiders"))?;
    let list: serde_json::Value = serde_json::from_slice(&body)?;
    let ids: Vec<i64> = list["insiders"]
        .as_array()
        .map(|v| v.iter().filter_map(|i| i["customer_id"].as_i64()).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        bail!("the latest run ({as_of}) has no Insiders to look up");
    }
    println!(
        "load: {} clients for {} s against http://{addr} (run {as_of}, {} Insiders)",
        a.clients,
        a.seconds,
        ids.len()
    );
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let start = Instant::now();
    let workers: Vec<_> = (0..a.clients)
        .map(|t| {
            let (as_of, ids, token) = (as_of.clone(), ids.clone(), a.token.clone());
            std::thread::spawn(move || {
                let mut conn = Conn::new(addr, token.as_deref());
                let (mut list, mut customer) = (Tally::default(), Tally::default());
                let mut k = t;
                while Instant::now() < deadline {
                    let (path, tally) = if k % 2 == 0 {
                        (format!("/api/runs/{as_of}/insiders"), &mut list)
                    } else {
                        (
                            format!("/api/customers/{}", ids[(k / 2) % ids.len()]),
                            &mut customer,
                        )
                    };
                    let t0 = Instant::now();
                    match conn.get(&path) {
                        Ok((200, _)) => tally.micros.push(t0.elapsed().as_micros() as u64),
                        _ => tally.errors += 1,
                    }
                    k += 1;
                }
                (list, customer)
            })
        })
        .collect();
    let (mut list, mut customer) = (Tally::default(), Tally::default());
    for w in workers {
        let (l, c) = w.join().map_err(|_| anyhow::anyhow!("a client panicked"))?;
        list.merge(l);
        customer.merge(c);
    }
    let seconds = start.elapsed().as_secs_f64();
    let errors = list.errors + customer.errors;
    let mut all = Tally::default();
    all.micros.extend(&list.micros);
    all.micros.extend(&customer.micros);
    all.errors = errors;
    println!(
        "{:<34} {:>8} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "endpoint", "requests", "per s", "p50 ms", "p99 ms", "max ms", "errors"
    );
    println!("{}", list.line("/api/runs/{as_of}/insiders", seconds));
    println!("{}", customer.line("/api/customers/{id}", seconds));
    println!("{}", all.line("both", seconds));
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}
