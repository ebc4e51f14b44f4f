//! What every chart draws on: the `<svg>` element with its white background, the title, the
//! "no data" picture, the coordinate format (one decimal) and the approximate width of text.

use crate::{escape, fmt_fixed};
use std::fmt::Write as _;

const FONT: &str = "font-family=\"Helvetica, Arial, sans-serif\"";
const CHAR_W: f64 = 6.6; // approximate width of a 12 px character

/// A coordinate with one decimal.
pub(super) fn c(v: f64) -> String {
    fmt_fixed(v, 1)
}

pub(super) fn text_width(s: &str) -> f64 {
    s.chars().count() as f64 * CHAR_W
}

pub(super) fn open_svg(out: &mut String, w: u32, h: u32) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" {FONT} font-size=\"12\" role=\"img\">"
    );
    let _ = write!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#FFFFFF\"/>"
    );
}

pub(super) fn title(out: &mut String, w: u32, text: &str) {
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
pub(super) fn no_data(w: u32, h: u32, heading: &str, message: &str) -> String {
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
