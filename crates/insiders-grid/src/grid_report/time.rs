//! Where the time went: fit and score seconds per engine (against the baseline) and the
//! stage timings of the manifest.

use super::*;

/// Time per engine and per stage.
pub(super) fn time(doc: &mut Document, cx: &Ctx<'_>) {
    let Ctx {
        run,
        base_cells,
        base_name,
        spaces,
        engines,
        python,
        ..
    } = *cx;
    let m = &run.manifest;
    // --- time
    doc.heading(2, "Time");
    let mut fit_by: Vec<f64> = Vec::new();
    let mut base_by: Vec<f64> = Vec::new();
    for en in engines.iter() {
        let (mut a, mut b) = (None, None);
        for sp in spaces.iter() {
            let ours: Vec<&Cell> = run
                .cells
                .iter()
                .filter(|c| &c.engine == en && &c.space == sp)
                .collect();
            let theirs: Vec<&Cell> = base_cells
                .unwrap_or(&[])
                .iter()
                .filter(|c| &c.engine == en && &c.space == sp)
                .collect();
            let (x, y, _) = paired_seconds(&ours, &theirs, python);
            if let Some(x) = x {
                a = Some(a.unwrap_or(0.0) + x);
            }
            if let Some(y) = y {
                b = Some(b.unwrap_or(0.0) + y);
            }
        }
        fit_by.push(a.unwrap_or(f64::NAN));
        base_by.push(b.unwrap_or(f64::NAN));
    }
    let mut bc = BarChart::new(
        "Fit + score seconds per engine (all spaces)",
        engines.clone(),
        run.name(),
        fit_by.clone(),
    );
    bc.horizontal = true;
    bc.value_label = "seconds".into();
    bc.value_decimals = Some(2);
    bc.height =
        (70 + 34 * engines.len() * if base_cells.is_some() { 2 } else { 1 }).clamp(180, 600) as u32;
    if base_cells.is_some() {
        bc = bc.with_series(base_name, base_by.clone());
    }
    doc.figure("time-per-engine", bc.to_svg(), if base_cells.is_some() {
        "Sum of fit and score seconds per engine over the cells present in both runs (same space, engine and k; engines without k: all their cells). Score time is shared per space and split evenly over its cells."
    } else {
        "Sum of fit and score seconds over the cells of each engine. Score time is shared per space and split evenly over its cells."
    });
    if let Some(t) = m["timings_seconds"].as_object() {
        let mut tt = Table::new(["stage", "seconds"]).numeric(vec![false, true]);
        for (k, v) in t {
            tt.row([k.clone(), secs(v.as_f64())]);
        }
        tt.caption = Some("Stage timings from manifest.json (wall clock).".into());
        doc.table(tt);
    }
}
