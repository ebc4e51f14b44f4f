//! The memory guard's facts: how much memory this process may use, sizes written as
//! `6GiB`, and the peak resident size so far.
//!
//! The limit is the `[limits] memory` setting when given, else what the machine can give
//! now: `MemAvailable` of `/proc/meminfo`, or less when a cgroup (v2 `memory.max`, v1
//! `memory.limit_in_bytes`) caps the process lower. Stages compare their estimate (or their
//! growing use) with it and stop with an error naming the setting, rather than being killed
//! by the operating system.

/// Parses a size: a number of bytes, or with a unit `k`, `M`, `G`, `T` (powers of 1000),
/// `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024); `B` optional, case-insensitive for the
/// decimal units (`6G`, `6GB`, `6GiB`, `512MiB`, `1.5GiB`).
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num.parse().ok()?;
    let unit = unit.trim();
    let mult: f64 = match unit.to_ascii_lowercase().trim_end_matches('b') {
        "" => 1.0,
        "k" => 1e3,
        "m" => 1e6,
        "g" => 1e9,
        "t" => 1e12,
        "ki" => 1024.0,
        "mi" => 1024.0 * 1024.0,
        "gi" => 1024.0 * 1024.0 * 1024.0,
        "ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = v * mult;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// A size for people: `3.41 GiB`, `512.0 MiB`, `900 B`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    if v < 1024.0 {
        return format!("{bytes} B");
    }
    let mut unit = "B";
    for u in UNITS {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.2} {unit}")
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The field `name` (`"MemAvailable:"`, `"VmRSS:"`, ...) of a `/proc` file that gives sizes
/// in kB, in bytes.
fn proc_kb(path: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let rest = text.lines().find_map(|l| l.strip_prefix(name))?;
    let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn mem_available() -> Option<u64> {
    proc_kb("/proc/meminfo", "MemAvailable:")
}

/// What a cgroup lets this process still use, if it caps memory.
fn cgroup_room() -> Option<u64> {
    if let (Some(max), Some(cur)) = (
        read_u64("/sys/fs/cgroup/memory.max"),
        read_u64("/sys/fs/cgroup/memory.current"),
    ) {
        return Some(max.saturating_sub(cur));
    }
    let max = read_u64("/sys/fs/cgroup/memory/memory.limit_in_bytes")?;
    let cur = read_u64("/sys/fs/cgroup/memory/memory.usage_in_bytes").unwrap_or(0);
    // v1 reports "no limit" as a huge number.
    (max < (1 << 60)).then(|| max.saturating_sub(cur))
}

/// What the machine can give this process now (see the module documentation); `None`
/// where the system does not say (not Linux).
pub fn available() -> Option<u64> {
    match (mem_available(), cgroup_room()) {
        (Some(a), Some(c)) => Some(a.min(c)),
        (a, c) => a.or(c),
    }
}

/// The peak resident set size of this process so far (`VmHWM`), in bytes.
pub fn peak_rss() -> Option<u64> {
    proc_kb("/proc/self/status", "VmHWM:")
}

/// The resident set size of this process now (`VmRSS`), in bytes; `None` where the system
/// does not say (not Linux).
pub fn rss() -> Option<u64> {
    proc_kb("/proc/self/status", "VmRSS:")
}

/// The memory this process may use: `configured`, else what the machine can give now
/// ([`available`]) plus what the process already holds; `None` when neither is known.
pub fn limit(configured: Option<u64>) -> Option<u64> {
    configured.or_else(|| available().map(|a| a + rss().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_both_unit_systems() {
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("6GiB"), Some(6 << 30));
        assert_eq!(parse_size("6 gib"), Some(6 << 30));
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_size("6G"), Some(6_000_000_000));
        assert_eq!(parse_size("6GB"), Some(6_000_000_000));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("6 parsecs"), None);
        assert_eq!(format_size(3 << 29), "1.50 GiB");
        assert_eq!(format_size(900), "900 B");
    }

    #[test]
    fn this_machine_reports_its_memory() {
        if cfg!(target_os = "linux") {
            let a = available().unwrap_or(0);
            assert!(a > 0);
            assert!(peak_rss().unwrap_or(0) > 0);
            assert!(limit(None).unwrap_or(0) >= a);
            assert_eq!(limit(Some(5)), Some(5));
        }
    }
}
