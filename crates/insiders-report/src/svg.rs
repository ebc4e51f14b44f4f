//! Charts as hand-written SVG: line charts (with forecast bands), scatter plots, bar charts,
//! heat maps and flow charts (entries and exits between runs).
//!
//! Every chart has a `to_svg(&self) -> String` that returns a standalone `<svg>` element with
//! `width`, `height` and a `viewBox` (so it scales inside HTML), using no element ids (so many
//! charts can be inlined in one page). Coordinates are written with one decimal; output is
//! byte-deterministic. Empty or fully non-finite data draws a "no data" picture, never panics.

use crate::{escape, fmt_fixed};
use std::fmt::Write as _;

/// Colour of noise points (label < 0) in scatter plots.
pub const NOISE_COLOR: &str = "#BBBBBB";

/// 24 distinguishable colours: the Okabe-Ito palette (without black) first, then Paul Tol's
/// muted, light and dark schemes, chosen to stay apart from each other and from the grey of
/// noise. The first 7 are safe for all common colour-vision deficiencies; beyond that no palette
/// is, so scatter plots also change the marker shape after each cycle and the legend shows counts.
pub const PALETTE: [&str; 24] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#332288",
    "#117733", "#882255", "#999933", "#AA4499", "#44AA99", "#DDCC77", "#CC6677", "#000000",
    "#EE8866", "#BBCC33", "#FFAABB", "#663333", "#225555", "#88CCEE", "#666633", "#997700",
];

/// The palette colour of series or category `i` (cycling).
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

const FONT: &str = "font-family=\"Helvetica, Arial, sans-serif\"";
const CHAR_W: f64 = 6.6; // approximate width of a 12 px character

/// A coordinate with one decimal.
fn c(v: f64) -> String {
    fmt_fixed(v, 1)
}

/// "Nice" tick values covering `[lo, hi]`: about `target` ticks at steps of 1, 2, 2.5 or 5
/// times a power of ten. The first tick is <= `lo` and the last >= `hi`. Non-finite input
/// gives `[0, 1]`; `lo == hi` is widened around the value.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() {
        return vec![0.0, 1.0];
    }
    let (mut lo, mut hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1e-300) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        lo -= pad;
        hi += pad;
    }
    let target = target.clamp(2, 20) as f64;
    let raw = (hi - lo) / (target - 1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    let n = ((last - first) as usize).min(200);
    (0..=n)
        .map(|i| {
            let v = (first + i as f64) * step;
            // round away binary noise like 0.30000000000000004
            let d = tick_decimals(step);
            if d < 8 {
                let p = 10f64.powi(d as i32);
                (v * p).round() / p
            } else {
                v
            }
        })
        .collect()
}

/// Decimals needed to write ticks at this step exactly (0..=8).
pub fn tick_decimals(step: f64) -> usize {
    if !step.is_finite() || step <= 0.0 {
        return 0;
    }
    for d in 0..=8usize {
        let scaled = step * 10f64.powi(d as i32);
        if scaled.round() >= 1.0 && (scaled - scaled.round()).abs() < 1e-6 * scaled {
            return d;
        }
    }
    8
}

/// Writes tick labels for a tick list with a common number of decimals.
pub fn tick_labels(ticks: &[f64]) -> Vec<String> {
    let step = if ticks.len() >= 2 {
        ticks[1] - ticks[0]
    } else {
        1.0
    };
    let d = tick_decimals(step);
    ticks
        .iter()
        .map(|t| {
            if t.abs() >= 1e7 || d >= 8 {
                format!("{t:.2e}")
            } else {
                fmt_fixed(*t, d)
            }
        })
        .collect()
}

/// A linear map from data to pixels.
#[derive(Debug, Clone, Copy)]
struct Scale {
    d0: f64,
    d1: f64,
    p0: f64,
    p1: f64,
}

impl Scale {
    fn map(&self, v: f64) -> f64 {
        let span = self.d1 - self.d0;
        if span == 0.0 {
            return (self.p0 + self.p1) / 2.0;
        }
        self.p0 + (v - self.d0) / span * (self.p1 - self.p0)
    }
}

fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo <= hi).then_some((lo, hi))
}

fn open_svg(out: &mut String, w: u32, h: u32) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" {FONT} font-size=\"12\" role=\"img\">"
    );
    let _ = write!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#FFFFFF\"/>"
    );
}

fn title(out: &mut String, w: u32, text: &str) {
    if text.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<title>{t}</title><text x=\"{x}\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{t}</text>",
        x = c(f64::from(w) / 2.0),
        t = escape(text)
    );
}

/// The "no data" picture: the frame, the title and a message.
fn no_data(w: u32, h: u32, heading: &str, message: &str) -> String {
    let mut out = String::new();
    open_svg(&mut out, w, h);
    title(&mut out, w, heading);
    let _ = write!(
        out,
        "<rect x=\"10.5\" y=\"30.5\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#CCCCCC\" stroke-dasharray=\"4 3\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666666\" font-size=\"14\">{}</text></svg>",
        c((f64::from(w) - 21.0).max(0.0)),
        c((f64::from(h) - 41.0).max(0.0)),
        c(f64::from(w) / 2.0),
        c(f64::from(h) / 2.0 + 5.0),
        escape(message)
    );
    out
}

/// Plot area in pixels.
#[derive(Debug, Clone, Copy)]
struct Area {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

fn text_width(s: &str) -> f64 {
    s.chars().count() as f64 * CHAR_W
}

/// Axes with grid lines, tick labels and axis labels.
fn axes(
    out: &mut String,
    a: Area,
    xs: Scale,
    ys: Scale,
    xt: &[f64],
    yt: &[f64],
    (xl, yl): (&str, &str),
) {
    out.push_str("<g stroke=\"#E3E3E3\" stroke-width=\"1\">");
    for t in yt {
        let y = ys.map(*t).round() + 0.5;
        let _ = write!(
            out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            c(a.x0),
            c(y),
            c(a.x1),
            c(y)
        );
    }
    for t in xt {
        let x = xs.map(*t).round() + 0.5;
        let _ = write!(
            out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            c(x),
            c(a.y0),
            c(x),
            c(a.y1)
        );
    }
    out.push_str("</g>");
    let _ = write!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888888\"/>",
        c(a.x0),
        c(a.y0),
        c(a.x1 - a.x0),
        c(a.y1 - a.y0)
    );
    out.push_str("<g fill=\"#333333\" font-size=\"11\">");
    for (t, l) in yt.iter().zip(tick_labels(yt)) {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            c(a.x0 - 5.0),
            c(ys.map(*t) + 4.0),
            escape(&l)
        );
    }
    for (t, l) in xt.iter().zip(tick_labels(xt)) {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            c(xs.map(*t)),
            c(a.y1 + 15.0),
            escape(&l)
        );
    }
    out.push_str("</g>");
    if !xl.is_empty() {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            c((a.x0 + a.x1) / 2.0),
            c(a.y1 + 34.0),
            escape(xl)
        );
    }
    if !yl.is_empty() {
        let (x, y) = (16.0, (a.y0 + a.y1) / 2.0);
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 {} {})\">{}</text>",
            c(x),
            c(y),
            c(x),
            c(y),
            escape(yl)
        );
    }
}

/// A legend entry's swatch.
#[derive(Debug, Clone, Copy)]
enum Swatch<'a> {
    Line { color: &'a str, dashed: bool },
    Box { color: &'a str },
    Dot { color: &'a str, square: bool },
    Blank,
}

/// A legend in columns starting at (x, y), rows of 16 px, at most `max_rows` per column.
fn legend(out: &mut String, x: f64, y: f64, max_rows: usize, entries: &[(Swatch<'_>, String)]) {
    let max_rows = max_rows.max(1);
    let col_w = entries
        .iter()
        .map(|(_, s)| text_width(s))
        .fold(0.0, f64::max)
        + 30.0;
    out.push_str("<g font-size=\"11\">");
    for (i, (sw, label)) in entries.iter().enumerate() {
        let cx = x + (i / max_rows) as f64 * col_w;
        let cy = y + (i % max_rows) as f64 * 16.0;
        match sw {
            Swatch::Line { color, dashed } => {
                let _ = write!(
                    out,
                    "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2.5\"{}/>",
                    c(cx),
                    c(cy),
                    c(cx + 18.0),
                    c(cy),
                    escape(color),
                    if *dashed {
                        " stroke-dasharray=\"5 3\""
                    } else {
                        ""
                    }
                );
            }
            Swatch::Box { color } => {
                let _ = write!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"10\" fill=\"{}\"/>",
                    c(cx + 2.0),
                    c(cy - 5.0),
                    escape(color)
                );
            }
            Swatch::Blank => {}
            Swatch::Dot { color, square } => {
                let _ = write!(
                    out,
                    "<path d=\"M{} {}h0\" stroke=\"{}\" stroke-width=\"8\" stroke-linecap=\"{}\"/>",
                    c(cx + 9.0),
                    c(cy),
                    escape(color),
                    if *square { "square" } else { "round" }
                );
            }
        }
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\">{}</text>",
            c(cx + 23.0),
            c(cy + 4.0),
            escape(label)
        );
    }
    out.push_str("</g>");
}

fn legend_width(entries: &[String], rows: usize, n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let col_w = entries.iter().map(|s| text_width(s)).fold(0.0, f64::max) + 30.0;
    let cols = n.div_ceil(rows.max(1));
    (col_w * cols as f64).min(600.0) + 10.0
}

// ---------------------------------------------------------------------------------------------
// Line chart

/// One line of a [`LineChart`].
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Points (x, y), drawn in the given order; a non-finite y breaks the line.
    pub points: Vec<(f64, f64)>,
    /// Optional shaded band (x, lo, hi), e.g. a forecast interval; empty = none.
    pub band: Vec<(f64, f64, f64)>,
    /// Dashed line (e.g. a baseline run).
    pub dashed: bool,
    /// Draw a dot at every point.
    pub markers: bool,
    /// Draw only the dots, no connecting line (e.g. engines without k, placed at the k found).
    pub markers_only: bool,
    /// Colour (`#RRGGBB`); `None` = the palette colour of the series index.
    pub color: Option<String>,
}

impl Series {
    /// A solid line with markers and the palette colour.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
            markers: true,
            ..Default::default()
        }
    }
}

/// Several named series of (x, y) points with optional shaded bands, axes, ticks and a legend.
#[derive(Debug, Clone)]
pub struct LineChart {
    /// Title above the chart.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The lines.
    pub series: Vec<Series>,
    /// Fixed x range; `None` = from the data.
    pub x_range: Option<(f64, f64)>,
    /// Fixed y range; `None` = from the data.
    pub y_range: Option<(f64, f64)>,
    /// Only integer x ticks (e.g. k).
    pub integer_x: bool,
}

impl LineChart {
    /// An empty chart of 720 x 400 pixels.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        LineChart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            width: 720,
            height: 400,
            series: Vec::new(),
            x_range: None,
            y_range: None,
            integer_x: false,
        }
    }

    /// Adds a series (builder style).
    pub fn with(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }

    /// The SVG of the chart.
    pub fn to_svg(&self) -> String {
        let (w, h) = (self.width.max(120), self.height.max(100));
        let xr = self.x_range.or_else(|| {
            finite_range(self.series.iter().flat_map(|s| {
                s.points
                    .iter()
                    .filter(|p| p.1.is_finite())
                    .map(|p| p.0)
                    .chain(s.band.iter().map(|b| b.0))
            }))
        });
        let yr = self.y_range.or_else(|| {
            finite_range(self.series.iter().flat_map(|s| {
                s.points
                    .iter()
                    .filter(|p| p.0.is_finite())
                    .map(|p| p.1)
                    .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
            }))
        });
        let (Some(xr), Some(yr)) = (xr, yr) else {
            return no_data(w, h, &self.title, "no data");
        };
        // x: the data range (a little padding unless fixed), ticks inside it
        let (x0, x1) = if self.x_range.is_some() {
            (xr.0.min(xr.1), xr.0.max(xr.1))
        } else {
            let span = xr.1 - xr.0;
            let pad = if span > 0.0 { span * 0.03 } else { 0.5 };
            (xr.0 - pad, xr.1 + pad)
        };
        let (x0, x1) = if x1 > x0 {
            (x0, x1)
        } else {
            (x0 - 0.5, x1 + 0.5)
        };
        let mut xt = nice_ticks(xr.0, xr.1, 10);
        xt.retain(|t| *t >= x0 - 1e-9 * x0.abs() && *t <= x1 + 1e-9 * x1.abs());
        if self.integer_x {
            xt.retain(|t| t.fract() == 0.0);
        }
        if xt.is_empty() {
            xt = vec![xr.0];
        }
        let yt = nice_ticks(yr.0, yr.1, 6);
        let names: Vec<String> = self.series.iter().map(|s| s.name.clone()).collect();
        let rows = ((f64::from(h) - 90.0) / 16.0).max(1.0) as usize;
        let lw = legend_width(&names, rows, names.len());
        let a = Area {
            x0: 64.0,
            y0: 34.0,
            x1: (f64::from(w) - 14.0 - lw).max(100.0),
            y1: f64::from(h) - 46.0,
        };
        let xs = Scale {
            d0: x0,
            d1: x1,
            p0: a.x0,
            p1: a.x1,
        };
        let ys = Scale {
            d0: yt[0],
            d1: yt[yt.len() - 1],
            p0: a.y1,
            p1: a.y0,
        };
        let mut out = String::new();
        open_svg(&mut out, w, h);
        title(&mut out, w, &self.title);
        axes(
            &mut out,
            a,
            xs,
            ys,
            &xt,
            &yt,
            (&self.x_label, &self.y_label),
        );
        let colors: Vec<String> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| s.color.clone().unwrap_or_else(|| color(i).to_string()))
            .collect();
        // bands first, under the lines
        for (s, col) in self.series.iter().zip(&colors) {
            let band: Vec<&(f64, f64, f64)> = s
                .band
                .iter()
                .filter(|b| b.0.is_finite() && b.1.is_finite() && b.2.is_finite())
                .collect();
            if band.len() < 2 {
                continue;
            }
            let mut d = String::new();
            for (i, b) in band.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{} {}",
                    if i == 0 { "M" } else { "L" },
                    c(xs.map(b.0)),
                    c(ys.map(b.2))
                );
            }
            for b in band.iter().rev() {
                let _ = write!(d, "L{} {}", c(xs.map(b.0)), c(ys.map(b.1)));
            }
            let _ = write!(
                out,
                "<path d=\"{d}Z\" fill=\"{}\" fill-opacity=\"0.18\" stroke=\"none\"/>",
                escape(col)
            );
        }
        for (s, col) in self.series.iter().zip(&colors) {
            let mut d = String::new();
            let mut pen_down = false;
            for p in &s.points {
                if !(p.0.is_finite() && p.1.is_finite()) {
                    pen_down = false;
                    continue;
                }
                let _ = write!(
                    d,
                    "{}{} {}",
                    if pen_down { "L" } else { "M" },
                    c(xs.map(p.0)),
                    c(ys.map(p.1))
                );
                pen_down = true;
            }
            if !d.is_empty() && !s.markers_only {
                let _ = write!(
                    out,
                    "<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-linejoin=\"round\"{}/>",
                    escape(col),
                    if s.dashed {
                        " stroke-dasharray=\"6 4\""
                    } else {
                        ""
                    }
                );
            }
            if s.markers || s.markers_only {
                let mut m = String::new();
                for p in s
                    .points
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                {
                    let _ = write!(m, "M{} {}h0", c(xs.map(p.0)), c(ys.map(p.1)));
                }
                if !m.is_empty() {
                    let _ = write!(
                        out,
                        "<path d=\"{m}\" stroke=\"{}\" stroke-width=\"{}\" stroke-linecap=\"{}\"/>",
                        escape(col),
                        if s.dashed { "5" } else { "6" },
                        if s.dashed { "square" } else { "round" }
                    );
                }
            }
        }
        let entries: Vec<(Swatch<'_>, String)> = self
            .series
            .iter()
            .zip(&colors)
            .map(|(s, col)| {
                let sw = if s.markers_only {
                    Swatch::Dot {
                        color: col.as_str(),
                        square: s.dashed,
                    }
                } else {
                    Swatch::Line {
                        color: col.as_str(),
                        dashed: s.dashed,
                    }
                };
                (sw, s.name.clone())
            })
            .collect();
        legend(&mut out, a.x1 + 14.0, a.y0 + 6.0, rows, &entries);
        out.push_str("</svg>");
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Scatter plot

/// Points coloured by a categorical label; labels < 0 are noise, drawn grey underneath.
#[derive(Debug, Clone)]
pub struct ScatterPlot {
    /// Title above the chart.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The points (x, y).
    pub points: Vec<(f64, f64)>,
    /// One label per point; negative = noise.
    pub labels: Vec<i64>,
    /// Draw at most this many points (a deterministic, evenly strided subset); `None` = all.
    pub max_points: Option<usize>,
    /// Marker radius in pixels.
    pub radius: f64,
    /// Legend text of a label; `None` = "cluster N".
    pub label_names: Option<Vec<(i64, String)>>,
}

impl ScatterPlot {
    /// A plot of 720 x 520 pixels with all points drawn.
    pub fn new(title: impl Into<String>, points: Vec<(f64, f64)>, labels: Vec<i64>) -> Self {
        ScatterPlot {
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            width: 720,
            height: 520,
            points,
            labels,
            max_points: None,
            radius: 2.2,
            label_names: None,
        }
    }

    /// Indices of the points drawn (all, or an evenly strided subset of `max_points`).
    pub fn shown_indices(&self) -> Vec<usize> {
        let n = self.points.len().min(self.labels.len());
        match self.max_points {
            Some(m) if m < n && m > 0 => (0..m).map(|i| i * n / m).collect(),
            Some(0) => Vec::new(),
            _ => (0..n).collect(),
        }
    }

    /// The SVG of the plot.
    pub fn to_svg(&self) -> String {
        let (w, h) = (self.width.max(120), self.height.max(100));
        if self.points.len() != self.labels.len() {
            return no_data(
                w,
                h,
                &self.title,
                &format!(
                    "invalid data: {} points but {} labels",
                    self.points.len(),
                    self.labels.len()
                ),
            );
        }
        let shown: Vec<usize> = self
            .shown_indices()
            .into_iter()
            .filter(|&i| self.points[i].0.is_finite() && self.points[i].1.is_finite())
            .collect();
        let (Some(xr), Some(yr)) = (
            finite_range(shown.iter().map(|&i| self.points[i].0)),
            finite_range(shown.iter().map(|&i| self.points[i].1)),
        ) else {
            return no_data(w, h, &self.title, "no data");
        };
        // categories with counts over all points (not only the shown ones)
        let mut cats: std::collections::BTreeMap<i64, usize> = std::collections::BTreeMap::new();
        for (p, l) in self.points.iter().zip(&self.labels) {
            if p.0.is_finite() && p.1.is_finite() {
                *cats.entry(if *l < 0 { -1 } else { *l }).or_insert(0) += 1;
            }
        }
        let name_of = |l: i64| -> String {
            if let Some(names) = &self.label_names
                && let Some((_, n)) = names.iter().find(|(k, _)| *k == l)
            {
                return n.clone();
            }
            if l < 0 {
                "noise".to_string()
            } else {
                format!("cluster {l}")
            }
        };
        let mut legend_texts: Vec<String> = cats
            .iter()
            .map(|(l, n)| format!("{} ({n})", name_of(*l)))
            .collect();
        let rows = ((f64::from(h) - 60.0) / 16.0).max(1.0) as usize;
        // at most two legend columns; the rest is summarised
        let shown_entries = legend_texts.len().min(2 * rows);
        let more = legend_texts.len() - shown_entries;
        if more > 0 {
            legend_texts.truncate(shown_entries - 1);
            legend_texts.push(format!("… {} more", more + 1));
        }
        let lw = legend_width(&legend_texts, rows, legend_texts.len());
        let xt = nice_ticks(xr.0, xr.1, 7);
        let yt = nice_ticks(yr.0, yr.1, 7);
        let a = Area {
            x0: 64.0,
            y0: 34.0,
            x1: (f64::from(w) - 14.0 - lw).max(100.0),
            y1: f64::from(h) - 46.0,
        };
        let xs = Scale {
            d0: xt[0],
            d1: xt[xt.len() - 1],
            p0: a.x0,
            p1: a.x1,
        };
        let ys = Scale {
            d0: yt[0],
            d1: yt[yt.len() - 1],
            p0: a.y1,
            p1: a.y0,
        };
        let mut out = String::new();
        open_svg(&mut out, w, h);
        title(&mut out, w, &self.title);
        axes(
            &mut out,
            a,
            xs,
            ys,
            &xt,
            &yt,
            (&self.x_label, &self.y_label),
        );
        let cat_index: std::collections::BTreeMap<i64, usize> = cats
            .keys()
            .filter(|l| **l >= 0)
            .enumerate()
            .map(|(i, l)| (*l, i))
            .collect();
        let style = |l: i64| -> (&'static str, bool) {
            match cat_index.get(&l) {
                Some(&i) if l >= 0 => (color(i), (i / PALETTE.len()) % 2 == 1),
                _ => (NOISE_COLOR, false),
            }
        };
        let diameter = c(self.radius.max(0.5) * 2.0);
        for l in cats.keys() {
            let (col, square) = style(*l);
            let mut d = String::new();
            for &i in &shown {
                let li = if self.labels[i] < 0 {
                    -1
                } else {
                    self.labels[i]
                };
                if li == *l {
                    let p = self.points[i];
                    let _ = write!(d, "M{} {}h0", c(xs.map(p.0)), c(ys.map(p.1)));
                }
            }
            if !d.is_empty() {
                let _ = write!(
                    out,
                    "<path d=\"{d}\" stroke=\"{col}\" stroke-width=\"{diameter}\" stroke-linecap=\"{}\" stroke-opacity=\"0.8\"/>",
                    if square { "square" } else { "round" }
                );
            }
        }
        let n_texts = legend_texts.len();
        let entries: Vec<(Swatch<'_>, String)> = cats
            .keys()
            .zip(legend_texts)
            .enumerate()
            .map(|(i, (l, t))| {
                let (col, square) = style(*l);
                if more > 0 && i + 1 == n_texts {
                    (Swatch::Blank, t)
                } else {
                    (Swatch::Dot { color: col, square }, t)
                }
            })
            .collect();
        legend(&mut out, a.x1 + 14.0, a.y0 + 6.0, rows, &entries);
        let n_valid: usize = cats.values().sum();
        if shown.len() < n_valid {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"10\" fill=\"#666666\">{} of {} points shown</text>",
                c(a.x1),
                c(f64::from(h) - 6.0),
                shown.len(),
                n_valid
            );
        }
        out.push_str("</svg>");
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Bar chart

/// One series of a [`BarChart`].
#[derive(Debug, Clone, Default)]
pub struct BarSeries {
    /// Legend name.
    pub name: String,
    /// One value per category; NaN = no bar.
    pub values: Vec<f64>,
    /// Colour; `None` = palette.
    pub color: Option<String>,
}

/// Categories x values, vertical or horizontal, one or more series side by side.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Title above the chart.
    pub title: String,
    /// Label of the value axis.
    pub value_label: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Category names.
    pub categories: Vec<String>,
    /// Series (one, or several side by side, e.g. a comparison).
    pub series: Vec<BarSeries>,
    /// Bars grow to the right, categories down the left side.
    pub horizontal: bool,
    /// Write the value at the end of each bar with this many decimals; `None` = no labels.
    pub value_decimals: Option<usize>,
}

impl BarChart {
    /// A vertical bar chart of 720 x 400 pixels with one series.
    pub fn new(
        title: impl Into<String>,
        categories: Vec<String>,
        name: impl Into<String>,
        values: Vec<f64>,
    ) -> Self {
        BarChart {
            title: title.into(),
            value_label: String::new(),
            width: 720,
            height: 400,
            categories,
            series: vec![BarSeries {
                name: name.into(),
                values,
                color: None,
            }],
            horizontal: false,
            value_decimals: None,
        }
    }

    /// Adds a second (third, ...) series drawn side by side.
    pub fn with_series(mut self, name: impl Into<String>, values: Vec<f64>) -> Self {
        self.series.push(BarSeries {
            name: name.into(),
            values,
            color: None,
        });
        self
    }

    /// The SVG of the chart.
    pub fn to_svg(&self) -> String {
        let (w, h) = (self.width.max(120), self.height.max(100));
        let n = self.categories.len();
        let vals = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().take(n).copied())
            .chain(std::iter::once(0.0));
        let Some(vr) = finite_range(vals).filter(|_| n > 0 && !self.series.is_empty()) else {
            return no_data(w, h, &self.title, "no data");
        };
        let vt = nice_ticks(vr.0, vr.1, 6);
        let names: Vec<String> = self.series.iter().map(|s| s.name.clone()).collect();
        let show_legend = self.series.len() > 1;
        let lw = if show_legend {
            legend_width(&names, 20, names.len())
        } else {
            0.0
        };
        let cat_w = self
            .categories
            .iter()
            .map(|s| text_width(s))
            .fold(0.0, f64::max);
        let slots = n as f64;
        let per = self.series.len() as f64;
        let colors: Vec<String> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| s.color.clone().unwrap_or_else(|| color(i).to_string()))
            .collect();
        let mut out = String::new();
        open_svg(&mut out, w, h);
        title(&mut out, w, &self.title);
        let (a, vs);
        if self.horizontal {
            a = Area {
                x0: (cat_w + 14.0).clamp(40.0, f64::from(w) * 0.4),
                y0: 34.0,
                x1: (f64::from(w) - 20.0 - lw).max(100.0),
                y1: f64::from(h) - 46.0,
            };
            vs = Scale {
                d0: vt[0],
                d1: vt[vt.len() - 1],
                p0: a.x0,
                p1: a.x1,
            };
            let cs = Scale {
                d0: 0.0,
                d1: 1.0,
                p0: a.y0,
                p1: a.y1,
            };
            axes(&mut out, a, vs, cs, &vt, &[], (&self.value_label, ""));
            out.push_str("<g font-size=\"11\" fill=\"#333333\">");
            for (i, cat) in self.categories.iter().enumerate() {
                let y = a.y0 + (i as f64 + 0.5) / slots * (a.y1 - a.y0);
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
                    c(a.x0 - 5.0),
                    c(y + 4.0),
                    escape(cat)
                );
            }
            out.push_str("</g>");
        } else {
            let rotate = cat_w > (f64::from(w) - 100.0 - lw) / slots.max(1.0) - 4.0;
            let bottom = if rotate {
                (cat_w * 0.72 + 30.0).min(f64::from(h) * 0.4)
            } else {
                46.0
            };
            a = Area {
                x0: 64.0,
                y0: 34.0,
                x1: (f64::from(w) - 14.0 - lw).max(100.0),
                y1: f64::from(h) - bottom,
            };
            vs = Scale {
                d0: vt[0],
                d1: vt[vt.len() - 1],
                p0: a.y1,
                p1: a.y0,
            };
            let cs = Scale {
                d0: 0.0,
                d1: 1.0,
                p0: a.x0,
                p1: a.x1,
            };
            axes(&mut out, a, cs, vs, &[], &vt, ("", &self.value_label));
            out.push_str("<g font-size=\"11\" fill=\"#333333\">");
            for (i, cat) in self.categories.iter().enumerate() {
                let x = a.x0 + (i as f64 + 0.5) / slots * (a.x1 - a.x0);
                if rotate {
                    let y = a.y1 + 12.0;
                    let _ = write!(
                        out,
                        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" transform=\"rotate(-45 {} {})\">{}</text>",
                        c(x),
                        c(y),
                        c(x),
                        c(y),
                        escape(cat)
                    );
                } else {
                    let _ = write!(
                        out,
                        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                        c(x),
                        c(a.y1 + 15.0),
                        escape(cat)
                    );
                }
            }
            out.push_str("</g>");
        }
        let span = if self.horizontal {
            a.y1 - a.y0
        } else {
            a.x1 - a.x0
        };
        let slot = span / slots;
        let bar = slot * 0.8 / per;
        let zero = vs.map(0.0);
        for (si, (s, col)) in self.series.iter().zip(&colors).enumerate() {
            let _ = write!(out, "<g fill=\"{}\">", escape(col));
            let mut labels = String::new();
            for (i, v) in s.values.iter().take(n).enumerate() {
                if !v.is_finite() {
                    continue;
                }
                let start = slot * i as f64 + slot * 0.1 + bar * si as f64;
                let end = vs.map(*v);
                let (lo, hi) = if end < zero { (end, zero) } else { (zero, end) };
                if self.horizontal {
                    let y = a.y0 + start;
                    let _ = write!(
                        out,
                        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
                        c(lo),
                        c(y),
                        c(hi - lo),
                        c(bar)
                    );
                    if let Some(d) = self.value_decimals {
                        let (x, anchor) = if *v < 0.0 {
                            (lo - 3.0, "end")
                        } else {
                            (hi + 3.0, "start")
                        };
                        let _ = write!(
                            labels,
                            "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
                            c(x),
                            c(y + bar / 2.0 + 4.0),
                            fmt_fixed(*v, d)
                        );
                    }
                } else {
                    let x = a.x0 + start;
                    let _ = write!(
                        out,
                        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
                        c(x),
                        c(lo),
                        c(bar),
                        c(hi - lo)
                    );
                    if let Some(d) = self.value_decimals {
                        let y = if *v < 0.0 { hi + 12.0 } else { lo - 3.0 };
                        let _ = write!(
                            labels,
                            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                            c(x + bar / 2.0),
                            c(y),
                            fmt_fixed(*v, d)
                        );
                    }
                }
            }
            out.push_str("</g>");
            if !labels.is_empty() {
                let _ = write!(out, "<g font-size=\"10\" fill=\"#333333\">{labels}</g>");
            }
        }
        // the zero line
        if self.horizontal {
            let _ = write!(
                out,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#555555\"/>",
                c(zero),
                c(a.y0),
                c(zero),
                c(a.y1)
            );
        } else {
            let _ = write!(
                out,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#555555\"/>",
                c(a.x0),
                c(zero),
                c(a.x1),
                c(zero)
            );
        }
        if show_legend {
            let entries: Vec<(Swatch<'_>, String)> = colors
                .iter()
                .zip(names)
                .map(|(col, n)| {
                    (
                        Swatch::Box {
                            color: col.as_str(),
                        },
                        n,
                    )
                })
                .collect();
            legend(&mut out, a.x1 + 14.0, a.y0 + 6.0, 20, &entries);
        }
        out.push_str("</svg>");
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Heat map

/// The colour scale of a [`HeatMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorScale {
    /// Low = dark purple, high = yellow (viridis; readable in grey and by colour-blind readers).
    #[default]
    Sequential,
    /// Negative = blue, zero = white, positive = red (symmetric around zero), for differences.
    Diverging,
}

const VIRIDIS: [(f64, f64, f64); 9] = [
    (68.0, 1.0, 84.0),
    (71.0, 44.0, 122.0),
    (59.0, 81.0, 139.0),
    (44.0, 113.0, 142.0),
    (33.0, 144.0, 141.0),
    (39.0, 173.0, 129.0),
    (92.0, 200.0, 99.0),
    (170.0, 220.0, 50.0),
    (253.0, 231.0, 37.0),
];

const DIVERGING: [(f64, f64, f64); 7] = [
    (33.0, 102.0, 172.0),
    (103.0, 169.0, 207.0),
    (209.0, 229.0, 240.0),
    (247.0, 247.0, 247.0),
    (253.0, 219.0, 199.0),
    (239.0, 138.0, 98.0),
    (178.0, 24.0, 43.0),
];

fn interpolate(stops: &[(f64, f64, f64)], t: f64) -> (f64, f64, f64) {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (stops.len() - 1) as f64;
    let i = (pos.floor() as usize).min(stops.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (stops[i], stops[i + 1]);
    (
        a.0 + (b.0 - a.0) * f,
        a.1 + (b.1 - a.1) * f,
        a.2 + (b.2 - a.2) * f,
    )
}

fn hex(rgb: (f64, f64, f64)) -> String {
    let q = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    format!("#{:02X}{:02X}{:02X}", q(rgb.0), q(rgb.1), q(rgb.2))
}

fn luminance(rgb: (f64, f64, f64)) -> f64 {
    (0.299 * rgb.0 + 0.587 * rgb.1 + 0.114 * rgb.2) / 255.0
}

/// A grid of values with row and column labels; NaN cells are blank; a colour legend;
/// optional value annotations.
#[derive(Debug, Clone)]
pub struct HeatMap {
    /// Title above the chart.
    pub title: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row labels (down the left side).
    pub rows: Vec<String>,
    /// Column labels (along the top).
    pub cols: Vec<String>,
    /// `values[row][col]`; NaN (or a missing entry) = blank cell.
    pub values: Vec<Vec<f64>>,
    /// The colour scale.
    pub scale: ColorScale,
    /// Fixed value range of the colour scale; `None` = from the data.
    pub range: Option<(f64, f64)>,
    /// Write each value in its cell with this many decimals; `None` = no annotations.
    pub annotate_decimals: Option<usize>,
}

impl HeatMap {
    /// A sequential heat map of 720 x 400 pixels with 3-decimal annotations.
    pub fn new(
        title: impl Into<String>,
        rows: Vec<String>,
        cols: Vec<String>,
        values: Vec<Vec<f64>>,
    ) -> Self {
        HeatMap {
            title: title.into(),
            width: 720,
            height: 400,
            rows,
            cols,
            values,
            scale: ColorScale::Sequential,
            range: None,
            annotate_decimals: Some(3),
        }
    }

    fn value(&self, r: usize, col: usize) -> f64 {
        self.values
            .get(r)
            .and_then(|row| row.get(col))
            .copied()
            .unwrap_or(f64::NAN)
    }

    /// The SVG of the heat map.
    pub fn to_svg(&self) -> String {
        let (w, h) = (self.width.max(120), self.height.max(100));
        let (nr, nc) = (self.rows.len(), self.cols.len());
        let data = (0..nr).flat_map(|r| (0..nc).map(move |col| (r, col)));
        let range = self
            .range
            .or_else(|| finite_range(data.map(|(r, col)| self.value(r, col))));
        let Some(mut range) = range.filter(|_| nr > 0 && nc > 0) else {
            return no_data(w, h, &self.title, "no data");
        };
        if self.scale == ColorScale::Diverging {
            let m = range.0.abs().max(range.1.abs());
            range = (-m, m);
        }
        let stops: &[(f64, f64, f64)] = match self.scale {
            ColorScale::Sequential => &VIRIDIS,
            ColorScale::Diverging => &DIVERGING,
        };
        let t_of = |v: f64| {
            if range.1 > range.0 {
                (v - range.0) / (range.1 - range.0)
            } else {
                0.5
            }
        };
        let row_w = self.rows.iter().map(|s| text_width(s)).fold(0.0, f64::max);
        let col_w = self.cols.iter().map(|s| text_width(s)).fold(0.0, f64::max);
        let a0 = Area {
            x0: (row_w + 14.0).clamp(30.0, f64::from(w) * 0.4),
            y0: 34.0,
            x1: f64::from(w) - 90.0,
            y1: f64::from(h) - 12.0,
        };
        let cw0 = (a0.x1 - a0.x0) / nc as f64;
        let rotate = col_w > cw0 - 4.0;
        let top = if rotate {
            (col_w * 0.72 + 10.0).min(f64::from(h) * 0.35)
        } else {
            18.0
        };
        let a = Area {
            y0: a0.y0 + top,
            ..a0
        };
        let cw = (a.x1 - a.x0) / nc as f64;
        let ch = ((a.y1 - a.y0) / nr as f64).max(1.0);
        let mut out = String::new();
        open_svg(&mut out, w, h);
        title(&mut out, w, &self.title);
        let mut notes = String::new();
        for r in 0..nr {
            for col in 0..nc {
                let v = self.value(r, col);
                let (x, y) = (a.x0 + cw * col as f64, a.y0 + ch * r as f64);
                if !v.is_finite() {
                    let _ = write!(
                        out,
                        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#FFFFFF\" stroke=\"#DDDDDD\"/>",
                        c(x),
                        c(y),
                        c(cw),
                        c(ch)
                    );
                    continue;
                }
                let rgb = interpolate(stops, t_of(v));
                let _ = write!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#FFFFFF\"/>",
                    c(x),
                    c(y),
                    c(cw),
                    c(ch),
                    hex(rgb)
                );
                if let Some(d) = self.annotate_decimals
                    && cw > 24.0
                    && ch > 11.0
                {
                    let ink = if luminance(rgb) > 0.5 {
                        "#111111"
                    } else {
                        "#FFFFFF"
                    };
                    let _ = write!(
                        notes,
                        "<text x=\"{}\" y=\"{}\" fill=\"{ink}\">{}</text>",
                        c(x + cw / 2.0),
                        c(y + ch / 2.0 + 4.0),
                        fmt_fixed(v, d)
                    );
                }
            }
        }
        if !notes.is_empty() {
            let size = (cw / 5.0).clamp(8.0, 12.0);
            let _ = write!(
                out,
                "<g text-anchor=\"middle\" font-size=\"{}\">{notes}</g>",
                c(size)
            );
        }
        out.push_str("<g font-size=\"11\" fill=\"#333333\">");
        for (r, name) in self.rows.iter().enumerate() {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
                c(a.x0 - 5.0),
                c(a.y0 + ch * (r as f64 + 0.5) + 4.0),
                escape(name)
            );
        }
        for (col, name) in self.cols.iter().enumerate() {
            let x = a.x0 + cw * (col as f64 + 0.5);
            if rotate {
                let y = a.y0 - 6.0;
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"start\" transform=\"rotate(-45 {} {})\">{}</text>",
                    c(x),
                    c(y),
                    c(x),
                    c(y),
                    escape(name)
                );
            } else {
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                    c(x),
                    c(a.y0 - 6.0),
                    escape(name)
                );
            }
        }
        out.push_str("</g>");
        // the colour legend: 20 steps, high at the top
        let (lx, ly0, ly1) = (a.x1 + 16.0, a.y0, a.y1.min(a.y0 + 240.0));
        let steps = 20;
        let sh = (ly1 - ly0) / steps as f64;
        for i in 0..steps {
            let t = 1.0 - (i as f64 + 0.5) / steps as f64;
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"{}\" fill=\"{}\"/>",
                c(lx),
                c(ly0 + sh * i as f64),
                c(sh + 0.3),
                hex(interpolate(stops, t))
            );
        }
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"{}\" fill=\"none\" stroke=\"#888888\"/>",
            c(lx),
            c(ly0),
            c(ly1 - ly0)
        );
        let lt = nice_ticks(range.0, range.1, 5);
        let lt: Vec<f64> = lt
            .into_iter()
            .filter(|t| *t >= range.0 - 1e-12 && *t <= range.1 + 1e-12)
            .collect();
        out.push_str("<g font-size=\"10\" fill=\"#333333\">");
        for (t, l) in lt.iter().zip(tick_labels(&lt)) {
            let y = ly1 - t_of(*t) * (ly1 - ly0);
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\">{}</text>",
                c(lx + 18.0),
                c(y + 3.5),
                escape(&l)
            );
        }
        out.push_str("</g></svg>");
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Flow chart

/// Membership flows between consecutive runs as stacked bars: per period the members who
/// stayed and those who entered stack upwards, those who left hang below zero.
#[derive(Debug, Clone)]
pub struct FlowChart {
    /// Title above the chart.
    pub title: String,
    /// Label of the value axis.
    pub value_label: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// One label per run (e.g. its as-of date).
    pub periods: Vec<String>,
    /// Members present in this run and the previous one.
    pub stayed: Vec<f64>,
    /// Members new in this run.
    pub entered: Vec<f64>,
    /// Members of the previous run who are no longer members (drawn below zero).
    pub exited: Vec<f64>,
}

impl FlowChart {
    /// A flow chart of 720 x 400 pixels.
    pub fn new(
        title: impl Into<String>,
        periods: Vec<String>,
        stayed: Vec<f64>,
        entered: Vec<f64>,
        exited: Vec<f64>,
    ) -> Self {
        FlowChart {
            title: title.into(),
            value_label: "customers".to_string(),
            width: 720,
            height: 400,
            periods,
            stayed,
            entered,
            exited,
        }
    }

    /// The SVG of the chart.
    pub fn to_svg(&self) -> String {
        let (w, h) = (self.width.max(120), self.height.max(100));
        let n = self.periods.len();
        let get = |v: &[f64], i: usize| {
            v.get(i)
                .copied()
                .filter(|x| x.is_finite())
                .unwrap_or(0.0)
                .abs()
        };
        let tops = (0..n).map(|i| get(&self.stayed, i) + get(&self.entered, i));
        let bottoms = (0..n).map(|i| -get(&self.exited, i));
        let any = (0..n)
            .any(|i| get(&self.stayed, i) + get(&self.entered, i) + get(&self.exited, i) > 0.0);
        let Some(vr) =
            finite_range(tops.chain(bottoms).chain(std::iter::once(0.0))).filter(|_| n > 0 && any)
        else {
            return no_data(w, h, &self.title, "no data");
        };
        let vt = nice_ticks(vr.0, vr.1, 6);
        let names = ["stayed", "entered", "left"];
        let cols = ["#88A5C4", "#009E73", "#D55E00"];
        let lw = legend_width(&names.map(String::from), 20, 3);
        let a = Area {
            x0: 64.0,
            y0: 34.0,
            x1: (f64::from(w) - 14.0 - lw).max(100.0),
            y1: f64::from(h) - 46.0,
        };
        let vs = Scale {
            d0: vt[0],
            d1: vt[vt.len() - 1],
            p0: a.y1,
            p1: a.y0,
        };
        let cs = Scale {
            d0: 0.0,
            d1: 1.0,
            p0: a.x0,
            p1: a.x1,
        };
        let mut out = String::new();
        open_svg(&mut out, w, h);
        title(&mut out, w, &self.title);
        axes(&mut out, a, cs, vs, &[], &vt, ("", &self.value_label));
        let slot = (a.x1 - a.x0) / n as f64;
        let label_every = ((text_width("2011-01-01") + 8.0) / slot).ceil().max(1.0) as usize;
        let zero = vs.map(0.0);
        for i in 0..n {
            let x = a.x0 + slot * (i as f64 + 0.15);
            let bw = slot * 0.7;
            let (s, e, l) = (
                get(&self.stayed, i),
                get(&self.entered, i),
                get(&self.exited, i),
            );
            let ys = vs.map(s);
            let ye = vs.map(s + e);
            let yl = vs.map(-l);
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                c(x),
                c(ys),
                c(bw),
                c(zero - ys),
                cols[0]
            );
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                c(x),
                c(ye),
                c(bw),
                c(ys - ye),
                cols[1]
            );
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                c(x),
                c(zero),
                c(bw),
                c(yl - zero),
                cols[2]
            );
            if i % label_every == 0 {
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
                    c(x + bw / 2.0),
                    c(a.y1 + 15.0),
                    escape(&self.periods[i])
                );
            }
        }
        let _ = write!(
            out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#555555\"/>",
            c(a.x0),
            c(zero),
            c(a.x1),
            c(zero)
        );
        let entries: Vec<(Swatch<'_>, String)> = names
            .iter()
            .zip(cols)
            .map(|(n, col)| (Swatch::Box { color: col }, n.to_string()))
            .collect();
        legend(&mut out, a.x1 + 14.0, a.y0 + 6.0, 20, &entries);
        out.push_str("</svg>");
        out
    }
}
