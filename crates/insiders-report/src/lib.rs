//! Reports of insiders: charts as hand-written SVG and documents rendered to a self-contained
//! HTML page or to Markdown with figures as separate `.svg` files.
//!
//! Everything here is byte-deterministic: the same input gives the same bytes (fixed number
//! formatting, no timestamps, no random ids), and all text is XML/HTML-escaped. Charts never
//! panic: empty or non-finite data draws a clear "no data" picture instead.
//!
//! - [`svg`]: [`svg::LineChart`], [`svg::ScatterPlot`], [`svg::BarChart`], [`svg::HeatMap`],
//!   [`svg::FlowChart`], the colour palette and the tick generator.
//! - [`doc`]: [`doc::Document`], made of [`doc::Block`]s, rendered by
//!   [`doc::Document::to_html`] and [`doc::Document::to_markdown`].

pub mod doc;
pub mod svg;

/// Escapes text for XML and HTML (element content and attribute values): `& < > " '`.
/// Characters that XML 1.0 forbids (most C0 controls) become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Formats a number with a fixed number of decimals; `-0` is written `0`, non-finite
/// values are written `NaN`, `inf` or `-inf`.
pub fn fmt_fixed(v: f64, decimals: usize) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            escape(r#"<a href="x">R&D's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;R&amp;D&#39;s&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{1}b\nc"), "a\u{FFFD}b\nc");
        assert_eq!(escape("ümlaut ok"), "ümlaut ok");
    }

    #[test]
    fn fixed_formatting() {
        assert_eq!(fmt_fixed(-0.0, 2), "0.00");
        assert_eq!(fmt_fixed(-0.0001, 2), "0.00");
        assert_eq!(fmt_fixed(1.005, 1), "1.0");
        assert_eq!(fmt_fixed(-2.5, 0), "-2");
        assert_eq!(fmt_fixed(f64::NAN, 3), "NaN");
        assert_eq!(fmt_fixed(f64::NEG_INFINITY, 3), "-inf");
    }
}
