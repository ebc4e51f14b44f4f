//! Bar charts: categories by values, vertical or horizontal, series side by side.

use super::axes::{Swatch, axes, legend, legend_width};
use super::canvas::{c, no_data, open_svg, text_width, title};
use super::colour::color;
use super::scale::{Area, Scale, finite_range, nice_ticks};
use crate::{escape, fmt_fixed};
use std::fmt::Write as _;

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
