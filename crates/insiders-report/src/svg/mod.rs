//! Charts as hand-written SVG: line charts (with forecast bands), scatter plots, bar charts,
//! heat maps and flow charts (entries and exits between runs).
//!
//! Every chart has a `to_svg(&self) -> String` that returns a standalone `<svg>` element with
//! `width`, `height` and a `viewBox` (so it scales inside HTML), using no element ids (so many
//! charts can be inlined in one page). Coordinates are written with one decimal; output is
//! byte-deterministic. Empty or fully non-finite data draws a "no data" picture, never panics.
//!
//! One file per chart kind (`line`, `scatter`, `bar`, `heat_map`, `flow`) and the parts they
//! share: colours, the canvas (svg element, title, text), scales and ticks, axes and legends.
//! Everything public is re-exported here: `svg::LineChart`, `svg::nice_ticks`, ...

mod axes;
mod bar;
mod canvas;
mod colour;
mod flow;
mod heat_map;
mod line;
mod scale;
mod scatter;

pub use bar::{BarChart, BarSeries};
pub use colour::{NOISE_COLOR, PALETTE, color};
pub use flow::FlowChart;
pub use heat_map::{ColorScale, HeatMap};
pub use line::{LineChart, Series};
pub use scale::{nice_ticks, tick_decimals, tick_labels};
pub use scatter::ScatterPlot;
