//! `cargo xtask screenshot FILE.html --out FILE.png`: a screenshot of a page in headless
//! Chromium (Debian's `chromium` package), with a fresh profile and no network chatter.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The usage lines of the command.
pub const USAGE: &str = "  screenshot FILE.html --out FILE.png [--size WxH]
        screenshot of a page in headless Chromium (/usr/bin/chromium; apt-get install chromium)";

/// The browser binary (`INSIDERS_CHROMIUM` overrides).
fn chromium() -> PathBuf {
    std::env::var_os("INSIDERS_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Parses the arguments after `screenshot` and takes the screenshot.
pub fn main(args: &[String]) -> Result<()> {
    let mut file = None;
    let mut out = None;
    let mut size = "1280,2400".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = Some(PathBuf::from(it.next().context("--out needs a value")?)),
            "--size" => {
                let v = it.next().context("--size needs a value, e.g. 1280x2400")?;
                let (w, h) = v
                    .split_once('x')
                    .context("--size: write WxH, e.g. 1280x2400")?;
                let (w, h): (u32, u32) = (w.parse()?, h.parse()?);
                size = format!("{w},{h}");
            }
            s if s.starts_with("--") => {
                bail!("screenshot: unknown argument `{s}`\n\nusage:\n{USAGE}")
            }
            s => file = Some(PathBuf::from(s)),
        }
    }
    let (Some(file), Some(out)) = (file, out) else {
        bail!("screenshot: give a page and --out\n\nusage:\n{USAGE}");
    };
    screenshot(&file, &out, &size)
}

/// Takes a screenshot of `page` into `png` with a window of `size` ("W,H").
pub fn screenshot(page: &Path, png: &Path, size: &str) -> Result<()> {
    let bin = chromium();
    if !bin.is_file() {
        bail!(
            "{} not found: install Debian's Chromium (`apt-get install -y chromium`) or set INSIDERS_CHROMIUM",
            bin.display()
        );
    }
    if !page.is_file() {
        bail!("{}: no such page", page.display());
    }
    let page = page.canonicalize()?;
    let png = std::path::absolute(png)?;
    if let Some(d) = png.parent() {
        std::fs::create_dir_all(d)?;
    }
    let profile = tempfile::tempdir().context("creating a temporary browser profile")?;
    let output = Command::new(&bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={size}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    if !output.status.success() || !png.is_file() {
        bail!(
            "{} failed ({}): {}",
            bin.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    println!("screenshot -> {}", png.display());
    Ok(())
}
