//! `insiders serve`: the read-only web server over the history (crate insiders-serve).

use anyhow::{Context, Result};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

/// `insiders serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The history: an SQLite file or `postgresql://USER@HOST:PORT/DB` (default: `[history]
    /// db` of --config, else out/history.sqlite).
    #[arg(long)]
    db: Option<String>,
    /// Configuration file whose `[history] db` names the database.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where to listen (loopback by default; `0.0.0.0:8080` exposes it to the network).
    #[arg(long, default_value = insiders_serve::DEFAULT_ADDR)]
    addr: SocketAddr,
    /// Require `Authorization: Bearer TOKEN` on every request (or set INSIDERS_TOKEN).
    #[arg(long, env = "INSIDERS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Database connections at most.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// The deadline of one request, in seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

pub fn serve(a: ServeArgs) -> Result<()> {
    let db = crate::run::db_location(a.db, a.config.as_deref())?;
    let token = a.token.filter(|t| !t.is_empty());
    let mut opts = insiders_serve::ServeOptions::new(db.clone(), a.addr, token);
    opts.connections = a.connections.max(1);
    opts.timeout = std::time::Duration::from_secs(a.timeout.max(1));
    let auth = if opts.token.is_some() {
        "bearer token required"
    } else {
        "no token"
    };
    insiders_serve::serve(opts, |addr| {
        println!(
            "listening on http://{addr} (history {}, {auth})",
            insiders_history::redact(&db)
        );
        let _ = std::io::stdout().flush();
    })
    .context("insiders serve")
}
