//! Every cell of the run in one table.

use super::*;

/// All cells.
pub(super) fn cells(doc: &mut Document, cx: &Ctx<'_>) {
    let Ctx { run, .. } = *cx;
    // --- all cells
    doc.heading(2, "All cells");
    let mut cols: Vec<String> = [
        "cell",
        "k found",
        "silhouette",
        "DB",
        "CH",
        "noise",
        "fit s",
        "error",
    ]
    .map(String::from)
    .to_vec();
    cols.splice(7..7, run.extra_cols.iter().cloned());
    let mut numeric = vec![false, true, true, true, true, true, true];
    numeric.extend(run.extra_cols.iter().map(|_| true));
    numeric.push(false);
    let mut t = Table::new(cols).numeric(numeric);
    for c in &run.cells {
        let mut row = vec![
            c.cell.clone(),
            c.k_found.map_or(String::new(), |k| k.to_string()),
            f4(c.silhouette),
            f3(c.davies_bouldin),
            c.calinski_harabasz
                .map_or(String::new(), |v| fmt_fixed(v, 1)),
            f3(c.noise_share),
            secs(c.fit_seconds),
        ];
        for x in &run.extra_cols {
            row.push(f3(c.extra(x)));
        }
        row.push(c.error.clone().unwrap_or_default());
        t.row(row);
    }
    doc.table(t);
}
