//! Flow charts: membership entries, stays and exits between consecutive runs as stacked bars.

use super::axes::{Swatch, axes, legend, legend_width};
use super::canvas::{c, no_data, open_svg, text_width, title};
use super::scale::{Area, Scale, finite_range, nice_ticks};
use crate::escape;
use std::fmt::Write as _;

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
