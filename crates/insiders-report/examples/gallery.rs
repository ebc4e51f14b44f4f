//! Writes one of every chart into a document: `cargo run -p insiders-report --example gallery -- DIR`
//! (then `DIR/gallery.html`, `DIR/gallery.md` and the SVG files). A visual check of the charts.

use insiders_report::doc::{Callout, Document, Table};
use insiders_report::svg::{
    BarChart, ColorScale, FlowChart, HeatMap, LineChart, ScatterPlot, Series,
};

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "gallery".to_string());
    let mut d = Document::new("insiders-report gallery");
    d.paragraph("One of every chart of the library, with made-up data.");

    // monthly revenue with a forecast band
    let months: Vec<f64> = (0..15).map(f64::from).collect();
    let actual: Vec<(f64, f64)> = months[..12]
        .iter()
        .map(|m| (*m, 400.0 + 30.0 * m + 60.0 * (m * 0.9).sin()))
        .collect();
    let mut forecast = Series::new(
        "forecast",
        months[11..]
            .iter()
            .map(|m| (*m, 400.0 + 30.0 * m))
            .collect(),
    );
    forecast.dashed = true;
    forecast.band = months[11..]
        .iter()
        .map(|m| {
            (
                *m,
                400.0 + 30.0 * m - 15.0 * (m - 10.0),
                400.0 + 30.0 * m + 15.0 * (m - 10.0),
            )
        })
        .collect();
    let mut chart = LineChart::new("Monthly revenue of the Insiders", "month", "revenue (k£)")
        .with(Series::new("actual", actual))
        .with(forecast);
    chart.integer_x = true;
    d.heading(2, "Line chart with a forecast band");
    d.figure(
        "line",
        chart.to_svg(),
        "Actual revenue and the forecast with its 90% band.",
    );

    // scatter
    let mut pts = Vec::new();
    let mut labels = Vec::new();
    for i in 0..3000u32 {
        let c = i % 11;
        let a = f64::from(i) * 0.618;
        let r = 1.0 + (f64::from(i) * 0.37).sin().abs();
        pts.push((
            f64::from(c % 4) * 6.0 + r * a.cos(),
            f64::from(c / 4) * 6.0 + r * a.sin(),
        ));
        labels.push(if i % 23 == 0 { -1 } else { i64::from(c) });
    }
    let mut sc = ScatterPlot::new("Clusters in the tree space", pts, labels);
    sc.x_label = "tree 1".into();
    sc.y_label = "tree 2".into();
    d.heading(2, "Scatter plot");
    d.figure("scatter", sc.to_svg(), "11 clusters and noise (grey).");

    // bars
    let cats: Vec<String> = (0..10).map(|c| format!("cluster {c}")).collect();
    let mut bars = BarChart::new(
        "Share of revenue",
        cats.clone(),
        "this run",
        (0..10).map(|c| f64::from(c * 7 % 23) + 1.5).collect(),
    )
    .with_series(
        "previous run",
        (0..10).map(|c| f64::from(c * 5 % 19) + 2.0).collect(),
    );
    bars.value_label = "% of revenue".into();
    bars.value_decimals = Some(1);
    d.heading(2, "Bar charts");
    d.figure("bars", bars.to_svg(), "Two series side by side.");
    let mut hbars = BarChart::new(
        "Effect sizes",
        vec![
            "revenue".into(),
            "frequency".into(),
            "recency".into(),
            "returns".into(),
        ],
        "Cliff's delta",
        vec![0.82, 0.64, -0.55, 0.12],
    );
    hbars.horizontal = true;
    hbars.value_decimals = Some(2);
    hbars.height = 240;
    d.figure(
        "hbars",
        hbars.to_svg(),
        "Horizontal bars with negative values.",
    );

    // heat maps
    let rows: Vec<String> = ["features", "pca", "umap", "tsne", "tree"]
        .map(String::from)
        .to_vec();
    let cols: Vec<String> = ["kmeans", "gmm", "ward", "dbscan", "hdbscan"]
        .map(String::from)
        .to_vec();
    let vals: Vec<Vec<f64>> = (0..5)
        .map(|r| {
            (0..5)
                .map(|c| {
                    if r == 1 && c == 3 {
                        f64::NAN
                    } else {
                        0.1 * f64::from(r + c) - 0.2
                    }
                })
                .collect()
        })
        .collect();
    d.heading(2, "Heat maps");
    d.figure(
        "heat",
        HeatMap::new("Best silhouette", rows.clone(), cols.clone(), vals.clone()).to_svg(),
        "Sequential scale; one blank (NaN) cell.",
    );
    let mut div = HeatMap::new("Δ silhouette", rows, cols, vals);
    div.scale = ColorScale::Diverging;
    d.figure(
        "heat-diverging",
        div.to_svg(),
        "Diverging scale around zero.",
    );

    // flows
    let periods: Vec<String> = (1..=12).map(|m| format!("2011-{m:02}")).collect();
    let flow = FlowChart::new(
        "Insiders: entries and exits per monthly run",
        periods,
        (0..12).map(|i| 800.0 + 10.0 * f64::from(i)).collect(),
        (0..12).map(|i| f64::from(20 + (i * 13) % 40)).collect(),
        (0..12).map(|i| f64::from(10 + (i * 7) % 30)).collect(),
    );
    d.heading(2, "Flow chart");
    d.figure(
        "flows",
        flow.to_svg(),
        "Stayed and entered above zero, left below.",
    );

    d.heading(2, "Tables and callouts");
    let mut t =
        Table::new(["cluster", "customers", "revenue share"]).numeric(vec![false, true, true]);
    t.row(["Insiders", "935", "52.1%"]);
    t.row(["cluster 2", "1,204", "13.4%"]);
    d.table(t);
    d.callout(
        Callout::True,
        "The Insiders make more than 10% of the revenue",
        "52.1% of the revenue (95% CI 49.8% .. 54.3%).",
    );
    d.callout(
        Callout::False,
        "The Insiders return less than the average customer",
        "Mean returns 41.2 against 23.9.",
    );
    d.write(std::path::Path::new(&dir), "gallery")
}
