//! The best silhouette per space and engine (heat map and table) and the added scores
//! (stability) per cell.

use super::*;

/// The best cell of one (space, engine).
fn grid_of<'a>(cells: &'a [Cell], sp: &str, en: &str) -> Option<&'a Cell> {
    best(cells.iter().filter(|c| c.space == sp && c.engine == en))
}

/// Best silhouette per (space, engine).
pub(super) fn best_cells(doc: &mut Document, cx: &Ctx<'_>) {
    let Ctx { run, spaces, .. } = *cx;
    // --- best per (space, engine)
    doc.heading(2, "Best silhouette per space and engine");
    doc.paragraph(
        "Each cell of the heat map is the highest silhouette over k (or over the parameter grid for engines without k) \
         of one engine in one space; blank = no successful cell. Higher is better; values near 0 mean overlapping clusters.",
    );
    let run_engines = run.engines();
    let values: Vec<Vec<f64>> = spaces
        .iter()
        .map(|sp| {
            run_engines
                .iter()
                .map(|en| {
                    grid_of(&run.cells, sp, en)
                        .and_then(|c| c.silhouette)
                        .unwrap_or(f64::NAN)
                })
                .collect()
        })
        .collect();
    let mut hm = HeatMap::new(
        "Best silhouette",
        spaces.clone(),
        run_engines.clone(),
        values,
    );
    hm.width = 760;
    hm.height = (80 + 44 * spaces.len()).clamp(200, 520) as u32;
    doc.figure(
        "best-silhouette",
        hm.to_svg(),
        "Best silhouette per (space, engine).",
    );
    let mut cols = vec![
        "space",
        "engine",
        "k",
        "params",
        "silhouette",
        "Davies-Bouldin",
        "Calinski-Harabasz",
        "noise share",
        "cells",
        "failed",
        "fit s (all cells)",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    cols.extend(run.extra_cols.iter().cloned());
    let mut numeric = vec![
        false, false, true, false, true, true, true, true, true, true, true,
    ];
    numeric.extend(run.extra_cols.iter().map(|_| true));
    let mut t = Table::new(cols).numeric(numeric);
    for sp in spaces.iter() {
        for en in &run_engines {
            let all: Vec<&Cell> = run
                .cells
                .iter()
                .filter(|c| &c.space == sp && &c.engine == en)
                .collect();
            if all.is_empty() {
                continue;
            }
            let b = best(all.iter().copied());
            let failed = all.iter().filter(|c| c.error.is_some()).count();
            let fit: f64 = all.iter().filter_map(|c| c.fit_seconds).sum();
            let mut row = vec![
                sp.clone(),
                en.clone(),
                b.and_then(Cell::x).map_or(String::new(), |k| k.to_string()),
                b.map_or(String::new(), |c| c.params.clone()),
                f4(b.and_then(|c| c.silhouette)),
                f3(b.and_then(|c| c.davies_bouldin)),
                b.and_then(|c| c.calinski_harabasz)
                    .map_or(String::new(), |v| fmt_fixed(v, 1)),
                f3(b.and_then(|c| c.noise_share)),
                all.len().to_string(),
                failed.to_string(),
                secs(Some(fit)),
            ];
            for x in &run.extra_cols {
                row.push(f3(b.and_then(|c| c.extra(x))));
            }
            t.row(row);
        }
    }
    t.caption = Some("The best cell (highest silhouette) of each (space, engine); extra columns of the results (e.g. stability) are shown for that cell.".into());
    doc.table(t);
}

/// The added scores (stability) per space and engine.
pub(super) fn added_scores(doc: &mut Document, cx: &Ctx<'_>) {
    let Ctx {
        run,
        spaces,
        engines,
        ..
    } = *cx;
    let run_engines = run.engines();
    // --- stability columns
    if !run.extra_cols.is_empty() {
        doc.heading(2, "Stability and other added scores");
        doc.paragraph(
            "Columns found in results.csv beyond the standard ones. Stability columns are mean adjusted Rand indices (1 = the same \
             partition every time, 0 = chance): across seeds and across bootstrap resamples of the customers. \
             The heat maps show the value at the best-silhouette cell of each (space, engine).",
        );
        for x in &run.extra_cols {
            let values: Vec<Vec<f64>> = spaces
                .iter()
                .map(|sp| {
                    run_engines
                        .iter()
                        .map(|en| {
                            grid_of(&run.cells, sp, en)
                                .and_then(|c| c.extra(x))
                                .unwrap_or(f64::NAN)
                        })
                        .collect()
                })
                .collect();
            let mut hm = HeatMap::new(x.clone(), spaces.clone(), run_engines.clone(), values);
            if x.starts_with("stability") {
                // ARIs: a fixed scale, so runs are comparable by eye
                hm.range = Some((0.0, 1.0));
            }
            hm.width = 760;
            hm.height = (80 + 44 * spaces.len()).clamp(200, 520) as u32;
            doc.figure(
                format!("extra-{x}"),
                hm.to_svg(),
                format!("{x} at the best-silhouette cell per (space, engine)."),
            );
        }
        // against k: one chart per space, one line per (engine, column); the first column
        // solid, the others dashed. Columns of other scales than the first are not mixed in.
        let stab: Vec<&String> = run
            .extra_cols
            .iter()
            .filter(|x| x.starts_with("stability"))
            .collect();
        let line_cols: Vec<&String> = if stab.is_empty() {
            run.extra_cols.iter().take(1).collect()
        } else {
            stab
        };
        for sp in spaces.iter() {
            let y_label = if line_cols.len() == 1 {
                line_cols[0].clone()
            } else {
                "stability (ARI)".to_string()
            };
            let mut chart = LineChart::new(format!("{y_label}: {sp}"), "k", y_label.clone());
            chart.integer_x = true;
            chart.width = 900;
            chart.height = 340;
            for en in &run_engines {
                for (ci, x) in line_cols.iter().enumerate() {
                    let mut pts: Vec<(f64, f64)> = run
                        .cells
                        .iter()
                        .filter(|c| &c.space == sp && &c.engine == en && c.k.is_some())
                        .filter_map(|c| Some((c.k? as f64, c.extra(x)?)))
                        .collect();
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    if !pts.is_empty() {
                        let name = if line_cols.len() == 1 {
                            en.clone()
                        } else {
                            format!("{en} · {x}")
                        };
                        let mut s = Series::new(name, pts);
                        s.color = Some(engine_color(engines, en));
                        s.dashed = ci > 0;
                        chart.series.push(s);
                    }
                }
            }
            if !chart.series.is_empty() {
                let cols_text = line_cols
                    .iter()
                    .map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                doc.figure(
                    format!("extra-{sp}"),
                    chart.to_svg(),
                    format!("{cols_text} against k in the {sp} space (engines with k; first column solid, others dashed)."),
                );
            }
        }
    }
}
