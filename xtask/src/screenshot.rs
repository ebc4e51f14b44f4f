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
    screenshot_with(&chromium(), page, png, size)
}

/// Takes a screenshot with this browser binary.
pub fn screenshot_with(bin: &Path, page: &Path, png: &Path, size: &str) -> Result<()> {
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
    let output = Command::new(bin)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_browser_or_page_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let page = tmp.path().join("p.html");
        std::fs::write(&page, "<!DOCTYPE html><p>x</p>").unwrap();
        let e = screenshot_with(
            &tmp.path().join("no-chromium"),
            &page,
            &tmp.path().join("o.png"),
            "800,600",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("not found") && e.contains("apt-get install -y chromium"),
            "{e}"
        );
        if chromium().is_file() {
            let e = screenshot(
                &tmp.path().join("missing.html"),
                &tmp.path().join("o.png"),
                "800,600",
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains("no such page"), "{e}");
        }
        assert!(main(&["p.html".into()]).is_err());
        assert!(
            main(&[
                "p.html".into(),
                "--out".into(),
                "o.png".into(),
                "--size".into(),
                "12".into()
            ])
            .is_err()
        );
    }
}
