//! A throwaway PostgreSQL cluster for a test (tests/pg/cluster.sh on a free loopback port),
//! stopped and deleted when dropped. Without PostgreSQL the test skips with a printed reason,
//! or fails under `CI=true`.

use std::path::PathBuf;
use std::process::Command;

/// A running throwaway cluster.
pub struct Pg {
    dir: tempfile::TempDir,
    port: u16,
    /// `postgresql://insiders@127.0.0.1:PORT/insiders`.
    pub url: String,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/pg/cluster.sh")
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn have_postgres() -> bool {
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    debian
        || Command::new("initdb")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
}

impl Pg {
    /// Starts a new cluster, or `None` (skip) when PostgreSQL is not installed; under
    /// `CI=true` a missing PostgreSQL fails the test.
    pub fn start() -> Option<Pg> {
        if !have_postgres() {
            let msg = "PostgreSQL is not installed (apt-get install -y postgresql)";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{msg}: a failure in CI");
            }
            eprintln!("SKIP: {msg}");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        // The server runs as `postgres` when we are root: it must reach its directory.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let port = free_port();
        let pg = Pg {
            url: format!("postgresql://insiders@127.0.0.1:{port}/insiders"),
            dir,
            port,
        };
        pg.up();
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("pg")
    }

    /// Starts the (stopped) server again on the same port.
    pub fn up(&self) {
        let o = Command::new("bash")
            .arg(script())
            .args([
                "start",
                self.data().to_str().unwrap(),
                &self.port.to_string(),
            ])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "starting PostgreSQL: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Stops the server (fast shutdown: open connections are closed).
    pub fn down(&self) {
        let o = Command::new("bash")
            .arg(script())
            .args(["stop", self.data().to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "stopping PostgreSQL: {o:?}");
    }

    /// Runs SQL with psql and returns its unaligned output.
    pub fn psql(&self, sql: &str) -> String {
        let o = Command::new("psql")
            .args([
                &self.url,
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "psql {sql}: {o:?}");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", self.data().to_str().unwrap()])
            .output();
    }
}
