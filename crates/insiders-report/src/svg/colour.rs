//! Colours: the categorical palette of series and clusters, the grey of noise, and the
//! continuous ramps of heat maps (viridis and a blue-white-red diverging ramp).

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

pub(super) const VIRIDIS: [(f64, f64, f64); 9] = [
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

pub(super) const DIVERGING: [(f64, f64, f64); 7] = [
    (33.0, 102.0, 172.0),
    (103.0, 169.0, 207.0),
    (209.0, 229.0, 240.0),
    (247.0, 247.0, 247.0),
    (253.0, 219.0, 199.0),
    (239.0, 138.0, 98.0),
    (178.0, 24.0, 43.0),
];

pub(super) fn interpolate(stops: &[(f64, f64, f64)], t: f64) -> (f64, f64, f64) {
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

pub(super) fn hex(rgb: (f64, f64, f64)) -> String {
    let q = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    format!("#{:02X}{:02X}{:02X}", q(rgb.0), q(rgb.1), q(rgb.2))
}

pub(super) fn luminance(rgb: (f64, f64, f64)) -> f64 {
    (0.299 * rgb.0 + 0.587 * rgb.1 + 0.114 * rgb.2) / 255.0
}
