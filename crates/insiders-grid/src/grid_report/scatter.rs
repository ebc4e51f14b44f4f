//! The clusters of the 2-D spaces, one scatter plot per space.

use super::*;

/// Scatter plots of the 2-D spaces.
pub(super) fn scatter(doc: &mut Document, cx: &Ctx<'_>) {
    let Ctx {
        args, run, spaces, ..
    } = *cx;
    // --- scatter plots of the 2-D spaces
    doc.heading(2, format!("Clusters in the 2-D spaces (k = {})", args.k));
    doc.paragraph(format!(
        "Each 2-D space coloured by the clusters of ward with k = {k} (the study's choice, --k to change), or, where \
         that cell is missing, of the best cell at that k, or else of the best cell of an engine with k. Grey = noise.",
        k = args.k
    ));
    let mut any_2d = false;
    for sp in spaces.iter() {
        let Some((ids, pts)) = read_space_2d(&run.dir, sp) else {
            continue;
        };
        any_2d = true;
        let in_space: Vec<&Cell> = run
            .cells
            .iter()
            .filter(|c| &c.space == sp && c.error.is_none())
            .collect();
        // ward at k, else the best engine at k, else the best cell with k, else the best cell
        let chosen = in_space
            .iter()
            .copied()
            .find(|c| c.engine == "ward" && c.k == Some(args.k))
            .or_else(|| best(in_space.iter().copied().filter(|c| c.k == Some(args.k))))
            .or_else(|| best(in_space.iter().copied().filter(|c| c.k.is_some())))
            .or_else(|| best(in_space.iter().copied()));
        let Some(chosen) = chosen else {
            doc.callout(
                Callout::Warning,
                format!("Space {sp}: no successful cell to colour by"),
                "",
            );
            continue;
        };
        let column = chosen
            .cell
            .strip_prefix(&format!("{sp}/"))
            .unwrap_or(&chosen.cell)
            .to_string();
        let labels = match read_labels(&run.dir, sp, &column) {
            Some((lid, l)) if lid == ids => l,
            Some(_) => {
                doc.callout(
                    Callout::Warning,
                    format!("Space {sp}: labels and coordinates list different customers"),
                    "",
                );
                continue;
            }
            None => {
                doc.callout(
                    Callout::Warning,
                    format!("Space {sp}: labels of {} not found", chosen.cell),
                    "",
                );
                continue;
            }
        };
        let mut sc = ScatterPlot::new(format!("{sp}: {column}"), pts, labels);
        sc.x_label = format!("{sp} 1");
        sc.y_label = format!("{sp} 2");
        sc.max_points = Some(8000);
        sc.height = 560;
        sc.width = 800;
        let k_note = if chosen.engine == "ward" && chosen.k == Some(args.k) {
            String::new()
        } else {
            format!(
                " (ward k = {} not in this run: the best cell at that k, or else the best cell with k, is shown)",
                args.k
            )
        };
        doc.figure(
            format!("scatter-{sp}"),
            sc.to_svg(),
            format!(
                "Space {sp} coloured by {}{k_note}; silhouette {}.",
                chosen.cell,
                f4(chosen.silhouette)
            ),
        );
    }
    if !any_2d {
        doc.callout(
            Callout::Note,
            "No 2-D space in this run",
            "spaces/*.csv with exactly two coordinates were not found.",
        );
    }
}
