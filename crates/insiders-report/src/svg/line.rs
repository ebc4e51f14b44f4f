//! Line charts: named series of (x, y) points with optional shaded bands (forecasts).

use super::axes::{Swatch, axes, legend, legend_width};
use super::canvas::{c, no_data, open_svg, title};
use super::colour::color;
use super::scale::{Area, Scale, finite_range, nice_ticks};
use crate::escape;
use std::fmt::Write as _;

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
