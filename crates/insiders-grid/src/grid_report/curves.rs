//! Silhouette against k, one chart per space (with the baseline dashed).

use super::*;

/// Silhouette against k per space.
pub(super) fn curves(doc: &mut Document, cx: &Ctx<'_>) {
    let Ctx {
        args,
        run,
        base_cells,
        base_name,
        spaces,
        engines,
        ..
    } = *cx;
    // --- silhouette against k per space
    doc.heading(2, "Silhouette against k");
    doc.paragraph(match &args.baseline {
        None => "One chart per space, one line per engine. Engines without k (DBSCAN, HDBSCAN) are drawn as dots at the number of clusters they found.".to_string(),
        Some(_) => format!(
            "One chart per space, one line per engine: solid = this run, dashed with square markers = {base_name}. \
             Engines without k (DBSCAN, HDBSCAN) are drawn as dots at the number of clusters they found."
        ),
    });
    let mut kmax: usize = 2;
    for c in run.cells.iter().chain(base_cells.unwrap_or(&[]).iter()) {
        if c.k.is_some() {
            kmax = kmax.max(c.k.unwrap_or(2));
        }
    }
    for sp in spaces.iter() {
        let mut chart = LineChart::new(format!("Silhouette: {sp}"), "k (clusters)", "silhouette");
        chart.integer_x = true;
        chart.width = 900;
        chart.height = 400;
        let mut off_chart: Vec<String> = Vec::new();
        let mut add =
            |chart: &mut LineChart, cells: &[Cell], en: &str, suffix: &str, dashed: bool| {
                let with_k: Vec<&Cell> = cells
                    .iter()
                    .filter(|c| &c.space == sp && c.engine == en && c.k.is_some())
                    .collect();
                let without: Vec<&Cell> = cells
                    .iter()
                    .filter(|c| &c.space == sp && c.engine == en && c.k.is_none())
                    .collect();
                // engines without k: dots at k found, only within the k range of the chart
                let (group, markers_only): (Vec<&Cell>, bool) = if with_k.is_empty() {
                    (without, true)
                } else {
                    (with_k, false)
                };
                let mut pts: Vec<(f64, f64)> = group
                    .iter()
                    .filter_map(|c| {
                        let x = c.x()?;
                        if markers_only && x > kmax + 2 {
                            if let Some(sil) = c.silhouette {
                                off_chart.push(format!(
                                    "{en}{suffix} found {x} clusters (silhouette {})",
                                    fmt_fixed(sil, 4)
                                ));
                            }
                            return None;
                        }
                        Some((x as f64, c.silhouette?))
                    })
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
                if pts.is_empty() {
                    return;
                }
                let mut s = Series::new(format!("{en}{suffix}"), pts);
                s.dashed = dashed;
                s.markers_only = markers_only;
                s.color = Some(engine_color(engines, en));
                chart.series.push(s);
            };
        for en in engines.iter() {
            add(&mut chart, &run.cells, en, "", false);
            if let Some(b) = base_cells {
                add(&mut chart, b, en, &format!(" ({base_name})"), true);
            }
        }
        let n_ok = run
            .cells
            .iter()
            .filter(|c| &c.space == sp && c.silhouette.is_some())
            .count();
        let n_all = run.cells.iter().filter(|c| &c.space == sp).count();
        let mut caption = if n_all == 0 {
            format!("Space {sp}: no cells in this run.")
        } else {
            format!("Space {sp}: {n_ok} of {n_all} cells scored.")
        };
        if !off_chart.is_empty() {
            caption.push_str(&format!(
                " Beyond the k range of the chart: {}.",
                off_chart.join("; ")
            ));
        }
        doc.figure(format!("silhouette-{sp}"), chart.to_svg(), caption);
    }
}
