//! Scatter plots: points coloured by a categorical label, noise in grey underneath.

use super::axes::{Swatch, axes, legend, legend_width};
use super::canvas::{c, no_data, open_svg, title};
use super::colour::{NOISE_COLOR, PALETTE, color};
use super::scale::{Area, Scale, finite_range, nice_ticks};
use std::fmt::Write as _;

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
