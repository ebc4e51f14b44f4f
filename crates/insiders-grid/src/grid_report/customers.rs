//! The customer data sets of a grid over registry data sets (the real data, the synthetic
//! shops; their cells' `space` is `<data set>/<space>`): per data set, space and engine, the
//! best silhouette over k and its k, with the ARI against the planted archetypes where the data
//! set has them (a synthetic shop), at that k and at the true k.

use super::*;

/// The data sets of the run that went through the customer pipeline.
pub(super) fn customer_datasets(cells: &[Cell]) -> BTreeSet<String> {
    cells
        .iter()
        .filter(|c| !c.dataset.is_empty() && c.space != c.dataset)
        .map(|c| c.dataset.clone())
        .collect()
}

/// The section, when the run has customer data sets.
pub(super) fn customers(doc: &mut Document, cx: &Ctx<'_>) {
    let cells = &cx.run.cells;
    let sets = customer_datasets(cells);
    if sets.is_empty() {
        return;
    }
    doc.heading(2, "Customer data sets");
    doc.paragraph(
        "The real data and the synthetic shops, through the study's pipeline (five features, \
         min-max): per space and engine, the k with the highest silhouette. The real data has \
         no reference labels; a synthetic shop's are the archetypes that generated its \
         customers (ARI at the k of the best silhouette, and at the true k: the number of \
         archetypes among the customers the cleaning keeps).",
    );
    let mut tab = Table::new([
        "data set / space",
        "engine",
        "best silhouette",
        "at k",
        "ARI there",
        "ARI at the true k",
    ])
    .numeric(vec![false, false, true, true, true, true]);
    // (space, engine) in run order.
    let mut rows: Vec<(&str, &str)> = Vec::new();
    for c in cells.iter().filter(|c| sets.contains(&c.dataset)) {
        if !rows.contains(&(c.space.as_str(), c.engine.as_str())) {
            rows.push((c.space.as_str(), c.engine.as_str()));
        }
    }
    for (space, engine) in rows {
        let row: Vec<&Cell> = cells
            .iter()
            .filter(|c| c.space == space && c.engine == engine && c.error.is_none())
            .collect();
        let best = row
            .iter()
            .filter(|c| c.silhouette.is_some())
            .max_by(|a, b| {
                a.silhouette
                    .partial_cmp(&b.silhouette)
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
        let at_true = row
            .iter()
            .filter(|c| c.true_k == Some(true))
            .filter_map(|c| c.ari)
            .fold(None::<f64>, |m, v| Some(m.map_or(v, |m| m.max(v))));
        tab.row([
            space.to_string(),
            engine.to_string(),
            f3(best.and_then(|c| c.silhouette)),
            best.and_then(|c| c.k)
                .map_or(String::new(), |k| k.to_string()),
            f3(best.and_then(|c| c.ari)),
            f3(at_true),
        ]);
    }
    doc.table(tab);
}
