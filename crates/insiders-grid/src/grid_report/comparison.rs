//! The run against its baseline (another run, or the Python grid): silhouette differences
//! per matched cell and the parity statements.

use super::*;

/// The comparison against a baseline run or the Python grid.
pub(super) fn comparison(
    doc: &mut Document,
    run: &Run,
    base: &[Cell],
    base_name: &str,
    spaces: &[String],
    engines: &[String],
    python: bool,
) {
    doc.heading(2, format!("Against {base_name}"));
    doc.paragraph(format!(
        "Cells are matched by (space, engine, k){}. Δ = this run − {base_name}: a positive Δ silhouette means this run \
         found better-separated clusters; the time ratio (this / {base_name}) is over the matched cells only, below 1 = this run is faster. \
         Engines without k are compared by their best cell and the time of all their cells.",
        if python { "" } else { " and parameters" }
    ));
    let key = |c: &Cell| match_key(c, python);
    let base_map: BTreeMap<_, &Cell> = base
        .iter()
        .filter(|c| c.k.is_some() || !python)
        .map(|c| (key(c), c))
        .collect();
    let mut t = Table::new([
        "space",
        "engine",
        "matched ks",
        "mean Δ silhouette",
        "max |Δ silhouette|",
        "best (this)",
        "best (base)",
        "Δ best",
        "seconds (this)",
        "seconds (base)",
        "time ratio",
    ])
    .numeric(vec![
        false, false, true, true, true, true, true, true, true, true, true,
    ]);
    let mut delta_best: Vec<Vec<f64>> = Vec::new();
    let mut parity: Vec<(String, usize, f64)> = Vec::new();
    for sp in spaces {
        let mut row_d = Vec::new();
        for en in engines {
            let ours: Vec<&Cell> = run
                .cells
                .iter()
                .filter(|c| &c.space == sp && &c.engine == en)
                .collect();
            let theirs: Vec<&Cell> = base
                .iter()
                .filter(|c| &c.space == sp && &c.engine == en)
                .collect();
            if ours.is_empty() && theirs.is_empty() {
                row_d.push(f64::NAN);
                continue;
            }
            let mut deltas = Vec::new();
            for c in &ours {
                if python && c.k.is_none() {
                    continue;
                }
                if let Some(b) = base_map.get(&key(c))
                    && let (Some(x), Some(y)) = (c.silhouette, b.silhouette)
                {
                    deltas.push(x - y);
                }
            }
            let bo = best(ours.iter().copied()).and_then(|c| c.silhouette);
            let bt = best(theirs.iter().copied()).and_then(|c| c.silhouette);
            let db = match (bo, bt) {
                (Some(a), Some(b)) => Some(a - b),
                _ => None,
            };
            row_d.push(db.unwrap_or(f64::NAN));
            let (so, st, _) = paired_seconds(&ours, &theirs, python);
            let mean =
                (!deltas.is_empty()).then(|| deltas.iter().sum::<f64>() / deltas.len() as f64);
            let maxabs =
                (!deltas.is_empty()).then(|| deltas.iter().fold(0.0f64, |m, d| m.max(d.abs())));
            if en == "ward" && (sp == "features" || sp == "pca") && !deltas.is_empty() {
                parity.push((sp.clone(), deltas.len(), maxabs.unwrap_or(f64::NAN)));
            }
            t.row([
                sp.clone(),
                en.clone(),
                deltas.len().to_string(),
                mean.map_or(String::new(), |v| signed(v, 4)),
                maxabs.map_or(String::new(), |v| {
                    if v < 1e-3 {
                        format!("{v:.1e}")
                    } else {
                        fmt_fixed(v, 4)
                    }
                }),
                f4(bo),
                f4(bt),
                db.map_or(String::new(), |v| signed(v, 4)),
                secs(so),
                secs(st),
                match (so, st) {
                    (Some(a), Some(b)) if a > 0.0 && b > 0.0 => fmt_fixed(a / b, 3),
                    _ => String::new(),
                },
            ]);
        }
        delta_best.push(row_d);
    }
    let mut hm = HeatMap::new(
        format!("Δ best silhouette (this − {base_name})"),
        spaces.to_vec(),
        engines.to_vec(),
        delta_best,
    );
    hm.scale = ColorScale::Diverging;
    hm.width = 760;
    hm.height = (80 + 44 * spaces.len()).clamp(200, 520) as u32;
    doc.figure("delta-best-silhouette", hm.to_svg(), format!("Difference of the best silhouette per (space, engine): red = this run higher, blue = {base_name} higher, white = equal, blank = missing on one side."));
    doc.table(t);
    if python {
        for (sp, n, maxabs) in parity {
            doc.callout(
                Callout::verdict(maxabs <= 1e-6),
                format!("Ward silhouettes in the {sp} space equal the Python grid within 1e-6"),
                format!(
                    "{n} matched ks, max |Δ| = {maxabs:.2e}. (Meaningful only for a run on the study's data, the real Online Retail file.)"
                ),
            );
        }
    }
}
