//! Heat maps: a grid of values coloured on a sequential or diverging scale, with a colour
//! legend and optional value annotations.

use super::canvas::{c, no_data, open_svg, text_width, title};
use super::colour::{DIVERGING, VIRIDIS, hex, interpolate, luminance};
use super::scale::{Area, finite_range, nice_ticks, tick_labels};
use crate::{escape, fmt_fixed};
use std::fmt::Write as _;

/// The colour scale of a [`HeatMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorScale {
    /// Low = dark purple, high = yellow (viridis; readable in grey and by colour-blind readers).
    #[default]
    Sequential,
    /// Negative = blue, zero = white, positive = red (symmetric around zero), for differences.
    Diverging,
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
