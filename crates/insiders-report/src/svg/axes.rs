//! Axes (grid lines, frame, tick labels, axis titles) and legends (swatches in columns).

use super::canvas::{c, text_width};
use super::scale::{Area, Scale, tick_labels};
use crate::escape;
use std::fmt::Write as _;

/// Axes with grid lines, tick labels and axis labels.
pub(super) fn axes(
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
pub(super) enum Swatch<'a> {
    Line { color: &'a str, dashed: bool },
    Box { color: &'a str },
    Dot { color: &'a str, square: bool },
    Blank,
}

/// A legend in columns starting at (x, y), rows of 16 px, at most `max_rows` per column.
pub(super) fn legend(
    out: &mut String,
    x: f64,
    y: f64,
    max_rows: usize,
    entries: &[(Swatch<'_>, String)],
) {
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

pub(super) fn legend_width(entries: &[String], rows: usize, n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let col_w = entries.iter().map(|s| text_width(s)).fold(0.0, f64::max) + 30.0;
    let cols = n.div_ceil(rows.max(1));
    (col_w * cols as f64).min(600.0) + 10.0
}
