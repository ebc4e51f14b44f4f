//! The report's opening: the run's facts and the warnings (missing spaces, failed cells).

use super::*;

/// The run's facts and warnings.
pub(super) fn summary(doc: &mut Document, cx: &Ctx<'_>) {
    let Ctx {
        args, run, spaces, ..
    } = *cx;
    // --- summary
    let m = &run.manifest;
    let n_failed = run.cells.iter().filter(|c| c.error.is_some()).count();
    let mut kv: Vec<(String, String)> = vec![
        ("Run folder".into(), run.dir.display().to_string()),
        (
            "Cells".into(),
            format!("{} ({} failed)", run.cells.len(), n_failed),
        ),
        ("Spaces".into(), {
            let with: Vec<&str> = spaces
                .iter()
                .filter(|sp| run.cells.iter().any(|c| &c.space == *sp))
                .map(String::as_str)
                .collect();
            let without: Vec<&str> = spaces
                .iter()
                .filter(|sp| !run.cells.iter().any(|c| &c.space == *sp))
                .map(String::as_str)
                .collect();
            if without.is_empty() {
                with.join(", ")
            } else {
                format!("{} (no results: {})", with.join(", "), without.join(", "))
            }
        }),
        ("Engines".into(), run.engines().join(", ")),
    ];
    let s = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    };
    for (label, v) in [
        ("Data", &m["data"]),
        ("Master seed", &m["seed"]),
        ("Quick grid", &m["quick"]),
        ("Git commit", &m["git_commit"]),
        ("Uncommitted changes", &m["git_dirty"]),
        ("CPU", &m["machine"]["cpu"]),
        ("Cores", &m["machine"]["cores"]),
    ] {
        if let Some(t) = s(v) {
            kv.push((label.into(), t));
        }
    }
    if let Some(t) = m["timings_seconds"]["total"].as_f64() {
        kv.push(("Total wall time".into(), format!("{} s", fmt_fixed(t, 2))));
    }
    if let Some(b) = &args.baseline {
        kv.push((
            "Baseline".into(),
            match b {
                Baseline::Run(p) => format!("run {}", p.display()),
                Baseline::Python(p) => format!("Python grid {}", p.display()),
            },
        ));
    }
    doc.key_values(kv);

    // --- warnings: missing spaces, failed cells
    let configured = run.configured_spaces();
    let present: BTreeSet<&str> = run.cells.iter().map(|c| c.space.as_str()).collect();
    let missing: Vec<&String> = configured
        .iter()
        .filter(|s| !present.contains(s.as_str()))
        .collect();
    if !missing.is_empty() {
        doc.callout(
            Callout::Warning,
            format!("{} configured space(s) have no results", missing.len()),
            format!(
                "Missing: {}. The run was filtered (--only) or stopped early; these spaces are absent from every figure.",
                missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
        );
    }
    if n_failed > 0 {
        let mut by: BTreeMap<(String, String), (usize, String)> = BTreeMap::new();
        for c in run.cells.iter().filter(|c| c.error.is_some()) {
            let e = by
                .entry((c.space.clone(), c.engine.clone()))
                .or_insert((0, String::new()));
            e.0 += 1;
            if e.1.is_empty() {
                e.1 = c.error.clone().unwrap_or_default();
            }
        }
        doc.callout(
            Callout::Warning,
            format!("{n_failed} of {} cells failed", run.cells.len()),
            "Failed cells have no scores; they are left out of the curves and blank in the heat map. Details below.",
        );
        let mut t = Table::new(["space", "engine", "failed cells", "first error"])
            .numeric(vec![false, false, true, false]);
        for ((sp, en), (n, e)) in &by {
            let e = if e.chars().count() > 160 {
                format!("{}…", e.chars().take(160).collect::<String>())
            } else {
                e.clone()
            };
            t.row([sp.clone(), en.clone(), n.to_string(), e]);
        }
        doc.table(t);
    }
    if run.cells.is_empty() {
        doc.callout(
            Callout::Warning,
            "The run has no cells",
            "results.csv has a header but no rows.",
        );
    }
}
