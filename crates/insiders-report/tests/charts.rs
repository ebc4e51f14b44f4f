//! Charts and documents: well-formed XML, escaping, determinism, ticks, NaN and empty input.

use insiders_report::doc::{Block, Callout, Document, Table};
use insiders_report::svg::{
    BarChart, ColorScale, FlowChart, HeatMap, LineChart, PALETTE, ScatterPlot, Series, nice_ticks,
    tick_labels,
};
use quick_xml::Reader;
use quick_xml::events::Event;

/// Parses the text as XML (end names checked) and returns (element count, all text content).
fn parse_xml(xml: &str) -> (usize, String) {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut depth = 0i64;
    let mut elements = 0;
    let mut text = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => {
                depth += 1;
                elements += 1;
            }
            Ok(Event::Empty(_)) => elements += 1,
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Text(t)) => text.push_str(&t[..]),
            Ok(Event::GeneralRef(r)) => {
                let name = r[..].to_string();
                text.push_str(match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "#39" => "'",
                    other => panic!("unexpected entity {other}"),
                });
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("malformed XML at {}: {e}\n{xml}", reader.buffer_position()),
        }
        assert!(depth >= 0);
    }
    assert_eq!(depth, 0, "unclosed elements");
    (elements, text)
}

const NASTY: &str = "a<b & \"c\" 'd'> </svg>";

fn line_chart() -> LineChart {
    let mut c = LineChart::new(format!("silhouette {NASTY}"), "k", "silhouette");
    c.integer_x = true;
    c.series.push(Series::new(
        "ward",
        (2..=22)
            .map(|k| (k as f64, 0.3 + 0.01 * k as f64))
            .collect(),
    ));
    let mut s = Series::new(
        NASTY,
        vec![(2.0, 0.5), (3.0, f64::NAN), (4.0, 0.45), (5.0, 0.41)],
    );
    s.dashed = true;
    s.band = vec![
        (2.0, 0.4, 0.6),
        (4.0, 0.35, 0.55),
        (5.0, f64::NAN, 0.5),
        (6.0, 0.3, 0.5),
    ];
    c.series.push(s);
    c
}

fn scatter() -> ScatterPlot {
    let n = 2000;
    let points = (0..n)
        .map(|i| {
            let t = i as f64 * 0.01;
            (t.cos() * (1.0 + t), t.sin() * (1.0 + t))
        })
        .collect();
    let labels = (0..n)
        .map(|i| if i % 17 == 0 { -1 } else { (i % 26) as i64 })
        .collect();
    ScatterPlot::new(NASTY, points, labels)
}

fn heat() -> HeatMap {
    HeatMap::new(
        NASTY,
        vec!["features".into(), "pca".into(), NASTY.into()],
        vec!["kmeans".into(), "gmm".into(), "hclust_ward".into()],
        vec![
            vec![0.5, f64::NAN, 0.3],
            vec![0.1, 0.2],
            vec![-0.1, 0.9, f64::INFINITY],
        ],
    )
}

fn bars(horizontal: bool) -> BarChart {
    let mut b = BarChart::new(
        NASTY,
        vec!["a".into(), NASTY.into(), "c".into()],
        "run",
        vec![1.5, -0.5, f64::NAN],
    )
    .with_series("baseline", vec![1.0, 0.25, 2.0]);
    b.horizontal = horizontal;
    b.value_decimals = Some(2);
    b
}

fn flow() -> FlowChart {
    FlowChart::new(
        NASTY,
        (1..=12).map(|m| format!("2011-{m:02}-01")).collect(),
        (0..12).map(|i| 900.0 + i as f64).collect(),
        (0..12).map(|i| (i * 7 % 40) as f64).collect(),
        vec![0.0, 20.0, f64::NAN, 31.0],
    )
}

fn all_svgs() -> Vec<String> {
    let mut heat_div = heat();
    heat_div.scale = ColorScale::Diverging;
    let mut sampled = scatter();
    sampled.max_points = Some(500);
    vec![
        line_chart().to_svg(),
        scatter().to_svg(),
        sampled.to_svg(),
        heat().to_svg(),
        heat_div.to_svg(),
        bars(false).to_svg(),
        bars(true).to_svg(),
        flow().to_svg(),
    ]
}

#[test]
fn every_chart_is_well_formed_and_escapes_text() {
    for svg in all_svgs() {
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("viewBox=\"0 0 "));
        let (elements, text) = parse_xml(&svg);
        assert!(elements > 10, "{svg}");
        // the nasty title survives as text, never as markup
        assert!(text.contains(NASTY), "title text lost: {text}");
        assert_eq!(svg.matches("</svg>").count(), 1);
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "non-finite number written: {svg}"
        );
        assert!(
            !svg.contains(" id="),
            "ids clash when many SVGs are inlined"
        );
    }
}

#[test]
fn charts_are_byte_deterministic() {
    assert_eq!(all_svgs(), all_svgs());
}

#[test]
fn ticks_are_nice_and_cover_the_range() {
    assert_eq!(nice_ticks(0.0, 1.0, 6), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
    assert_eq!(
        nice_ticks(2.0, 22.0, 8),
        vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    );
    assert_eq!(
        nice_ticks(0.13, 0.57, 6),
        vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    );
    assert_eq!(
        nice_ticks(-3.0, 7.0, 6),
        vec![-4.0, -2.0, 0.0, 2.0, 4.0, 6.0, 8.0]
    );
    assert_eq!(
        tick_labels(&nice_ticks(0.13, 0.57, 6)),
        ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6"]
    );
    assert_eq!(tick_labels(&[0.0, 2.5, 5.0]), ["0.0", "2.5", "5.0"]);
    assert_eq!(tick_labels(&[1000.0, 2000.0]), ["1000", "2000"]);
    // degenerate ranges never panic and still give an increasing list
    for (lo, hi) in [
        (5.0, 5.0),
        (0.0, 0.0),
        (f64::NAN, 1.0),
        (1.0, f64::INFINITY),
        (3.0, -3.0),
        (1e-12, 2e-12),
    ] {
        let t = nice_ticks(lo, hi, 6);
        assert!(t.len() >= 2, "{lo} {hi}: {t:?}");
        assert!(t.windows(2).all(|w| w[0] < w[1]), "{lo} {hi}: {t:?}");
        if lo.is_finite() && hi.is_finite() {
            assert!(
                t[0] <= lo.min(hi) && *t.last().unwrap() >= lo.max(hi),
                "{lo} {hi}: {t:?}"
            );
        }
    }
    // many random ranges: ticks cover the range with 3..=13 ticks
    let mut x: u64 = 12345;
    for _ in 0..2000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let a = ((x >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1e4;
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let b = a + ((x >> 11) as f64 / (1u64 << 53) as f64) * 10f64.powi((x % 9) as i32 - 4);
        let t = nice_ticks(a, b, 6);
        assert!(
            t[0] <= a + 1e-9 * a.abs() && *t.last().unwrap() >= b - 1e-9 * b.abs(),
            "{a} {b} {t:?}"
        );
        assert!((3..=13).contains(&t.len()), "{a} {b} {t:?}");
    }
}

#[test]
fn empty_and_non_finite_input_draw_no_data() {
    let svgs = [
        LineChart::new("empty", "x", "y").to_svg(),
        LineChart::new("nan", "x", "y")
            .with(Series::new("s", vec![(1.0, f64::NAN)]))
            .to_svg(),
        ScatterPlot::new("empty", vec![], vec![]).to_svg(),
        ScatterPlot::new("nan", vec![(f64::NAN, 1.0)], vec![0]).to_svg(),
        BarChart::new("empty", vec![], "s", vec![]).to_svg(),
        HeatMap::new(
            "nan",
            vec!["r".into()],
            vec!["c".into()],
            vec![vec![f64::NAN]],
        )
        .to_svg(),
        HeatMap::new("empty", vec![], vec![], vec![]).to_svg(),
        FlowChart::new("empty", vec![], vec![], vec![], vec![]).to_svg(),
    ];
    for svg in svgs {
        parse_xml(&svg);
        assert!(svg.contains(">no data</text>"), "{svg}");
    }
    let bad = ScatterPlot::new("mismatch", vec![(0.0, 0.0)], vec![]).to_svg();
    parse_xml(&bad);
    assert!(bad.contains("1 points but 0 labels"));
}

#[test]
fn heat_map_leaves_nan_cells_blank_and_annotates_the_rest() {
    let svg = heat().to_svg();
    // 9 cells: 1 NaN, 1 missing (short row), 1 infinite -> 3 blank, 6 annotated
    assert_eq!(
        svg.matches("fill=\"#FFFFFF\" stroke=\"#DDDDDD\"").count(),
        3
    );
    for v in ["0.500", "0.300", "0.100", "0.200", "-0.100", "0.900"] {
        assert!(svg.contains(&format!(">{v}</text>")), "{v} missing");
    }
}

#[test]
fn scatter_draws_noise_grey_first_and_counts_every_category() {
    let s = scatter();
    let svg = s.to_svg();
    let grey = svg.find("stroke=\"#BBBBBB\"").unwrap();
    let first_colour = svg.find(&format!("stroke=\"{}\"", PALETTE[0])).unwrap();
    assert!(grey < first_colour, "noise must be drawn underneath");
    assert!(
        svg.contains("noise (118)"),
        "2000 points, every 17th is noise"
    );
    assert!(svg.contains("cluster 25 ("));
    // 26 categories > 24 colours: the 25th and 26th are drawn with square markers
    assert_eq!(svg.matches("stroke-linecap=\"square\"").count(), 4);
    let mut sampled = s.clone();
    sampled.max_points = Some(500);
    assert_eq!(sampled.shown_indices().len(), 500);
    let svg = sampled.to_svg();
    assert!(svg.contains("500 of 2000 points shown"));
    assert!(svg.len() < s.to_svg().len() / 2);
}

#[test]
fn palette_is_distinct() {
    let mut p: Vec<&str> = PALETTE.to_vec();
    p.sort();
    p.dedup();
    assert!(p.len() >= 22);
    // pairwise distance in RGB of at least 40 (no two near-identical colours)
    let rgb = |h: &str| -> [f64; 3] {
        let v = u32::from_str_radix(&h[1..], 16).unwrap();
        [(v >> 16) as f64, ((v >> 8) & 255) as f64, (v & 255) as f64]
    };
    for (i, a) in PALETTE.iter().enumerate() {
        for b in &PALETTE[i + 1..] {
            let (x, y) = (rgb(a), rgb(b));
            let d = ((x[0] - y[0]).powi(2) + (x[1] - y[1]).powi(2) + (x[2] - y[2]).powi(2)).sqrt();
            assert!(d >= 40.0, "{a} and {b} too close ({d:.1})");
        }
        let g = rgb(insiders_report::svg::NOISE_COLOR);
        let x = rgb(a);
        let d = ((x[0] - g[0]).powi(2) + (x[1] - g[1]).powi(2) + (x[2] - g[2]).powi(2)).sqrt();
        assert!(d >= 40.0, "{a} too close to the noise grey");
    }
}

fn document() -> Document {
    let mut d = Document::new(format!("Report {NASTY}"));
    d.heading(2, "Scores & <times>")
        .paragraph(format!("text {NASTY} *not bold* | pipe"))
        .key_values([("run", "runs/x"), ("k", "10")]);
    let mut t = Table::new(["space", "silhouette"]).numeric(vec![false, true]);
    t.row(["tree", "0.512"]);
    t.row([NASTY, "-0.1"]);
    t.row(["short row"]);
    t.caption = Some("caption".into());
    d.table(t);
    d.figure(
        "silhouette / k",
        line_chart().to_svg(),
        "Silhouette against k",
    );
    d.figure(
        "silhouette / k",
        heat().to_svg(),
        "second with the same name",
    );
    d.callout(Callout::True, "share of revenue > 10%", "52.1%");
    d.callout(Callout::verdict(false), "returns below average", NASTY);
    d.push(Block::List(vec!["one".into(), "- two".into()]));
    d
}

#[test]
fn html_is_self_contained_well_formed_and_escaped() {
    let html = document().to_html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // external resources would break the self-contained promise
    for bad in ["<link", "<script", "src=", "href=", "@import", "url("] {
        assert!(!html.contains(bad), "{bad}");
    }
    // apart from the doctype, the page is well-formed XML (XHTML-compatible)
    let body = html
        .trim_start_matches("<!DOCTYPE html>\n")
        .replace("<meta charset=\"utf-8\">", "<meta charset=\"utf-8\"/>")
        .replace(
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>",
        );
    let (_, text) = parse_xml(&body);
    assert!(text.contains(&format!("Report {NASTY}")));
    assert!(text.contains("Scores & <times>"));
    assert_eq!(html.matches("<svg ").count(), 2);
    assert!(html.contains("<td class=\"num\">0.512</td>"));
    assert!(html.contains("<div class=\"callout true\"><span class=\"label\">TRUE</span>"));
    assert!(html.contains("<div class=\"callout false\"><span class=\"label\">FALSE</span>"));
    // the short row is padded
    assert!(html.contains("<tr><td>short row</td><td class=\"num\"></td></tr>"));
    assert_eq!(html, document().to_html());
}

#[test]
fn markdown_references_figure_files_and_escapes_text() {
    let md = document().to_markdown();
    let names: Vec<&str> = md.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["silhouette-k.svg", "silhouette-k-2.svg"]);
    assert!(
        md.text
            .contains("![Silhouette against k](silhouette-k.svg)")
    );
    assert!(
        md.text
            .contains("![second with the same name](silhouette-k-2.svg)")
    );
    assert!(
        md.text
            .contains("| space | silhouette |\n| --- | ---: |\n| tree | 0.512 |")
    );
    assert!(md.text.contains("\\*not bold\\* \\| pipe"));
    assert!(md.text.contains("a\\<b \\& \"c\" 'd'\\> \\</svg\\>"));
    assert!(md.text.contains("| short row |   |"));
    assert!(
        md.text
            .contains("> **TRUE** share of revenue \\> 10%\n>\n> 52.1%")
    );
    assert!(md.text.contains("- \\- two"));
    for (_, svg) in &md.files {
        parse_xml(svg);
    }
    assert_eq!(md, document().to_markdown());
}

#[test]
fn write_puts_html_markdown_and_svgs_in_one_folder() {
    let dir = std::env::temp_dir().join(format!("insiders-report-test-{}", std::process::id()));
    document().write(&dir, "report").unwrap();
    for f in [
        "report.html",
        "report.md",
        "silhouette-k.svg",
        "silhouette-k-2.svg",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
