//! Process CPU time, for the timings that the grid's manifest and the examples report.

/// CPU seconds (user + system) of this process so far, from `/proc/self/stat` (0 where
/// that file does not exist, e.g. off Linux). Clock ticks are taken as 100 per second
/// (Linux's `USER_HZ`). The only file this crate reads: it describes the process itself.
pub fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_grows_with_work() {
        if !cfg!(target_os = "linux") {
            return;
        }
        // Busy work until the process has used 0.05 CPU s more (however loaded the machine
        // is), or fail after 20 s of wall time.
        let before = process_cpu_seconds();
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while process_cpu_seconds() - before < 0.05 {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
            assert!(t.elapsed().as_secs() < 20, "CPU time stuck at {before}");
        }
    }
}
