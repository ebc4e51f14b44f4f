//! Documents: a title and a list of blocks, rendered to one self-contained HTML page (inline
//! CSS and SVG, no external resources) or to Markdown with the figures as separate `.svg`
//! files referenced by relative path.

use crate::escape;
use std::fmt::Write as _;
use std::path::Path;

/// The kind of a [`Block::Callout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callout {
    /// A hypothesis or check that holds (green, labelled TRUE).
    True,
    /// A hypothesis or check that does not hold (red, labelled FALSE).
    False,
    /// Neutral information (blue, labelled NOTE).
    Note,
    /// Something the reader must know, e.g. missing data (amber, labelled WARNING).
    Warning,
}

impl Callout {
    /// The label written in front of the callout.
    pub fn label(self) -> &'static str {
        match self {
            Callout::True => "TRUE",
            Callout::False => "FALSE",
            Callout::Note => "NOTE",
            Callout::Warning => "WARNING",
        }
    }

    /// TRUE or FALSE from a boolean.
    pub fn verdict(holds: bool) -> Self {
        if holds { Callout::True } else { Callout::False }
    }

    fn class(self) -> &'static str {
        match self {
            Callout::True => "true",
            Callout::False => "false",
            Callout::Note => "note",
            Callout::Warning => "warning",
        }
    }
}

/// A table: a header, rows of text, and per column whether it is numeric (right-aligned).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows of cells (already formatted); short rows are padded with empty cells.
    pub rows: Vec<Vec<String>>,
    /// Right-align column i (numbers); missing entries = left-aligned.
    pub numeric: Vec<bool>,
    /// Optional caption under the table.
    pub caption: Option<String>,
}

impl Table {
    /// A table with this header and no rows; all columns left-aligned.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// Marks columns as numeric (right-aligned) (builder style).
    pub fn numeric(mut self, numeric: Vec<bool>) -> Self {
        self.numeric = numeric;
        self
    }

    /// Adds a row.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    fn is_numeric(&self, i: usize) -> bool {
        self.numeric.get(i).copied().unwrap_or(false)
    }

    fn width(&self) -> usize {
        self.rows
            .iter()
            .map(Vec::len)
            .fold(self.header.len(), usize::max)
    }
}

/// A figure: an SVG drawing with a caption; `name` becomes its file name in Markdown.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Short name, used for the `.svg` file name (sanitised, made unique).
    pub name: String,
    /// The SVG (from the [`crate::svg`] charts; inserted as is).
    pub svg: String,
    /// Caption under the figure.
    pub caption: String,
}

/// One block of a [`Document`].
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading of level 1..=6 (the document title is level 1; use 2 and below).
    Heading {
        /// 1..=6 (clamped).
        level: u8,
        /// Text.
        text: String,
    },
    /// A paragraph of plain text.
    Paragraph(String),
    /// A list of (key, value) pairs.
    KeyValues(Vec<(String, String)>),
    /// A bulleted list.
    List(Vec<String>),
    /// A table.
    Table(Table),
    /// A figure.
    Figure(Figure),
    /// A highlighted box: a verdict (TRUE/FALSE), a note or a warning, with a title and text.
    Callout {
        /// Kind (and label).
        kind: Callout,
        /// Short statement, e.g. the hypothesis.
        title: String,
        /// Explanation, e.g. the number behind the verdict.
        text: String,
    },
}

/// A document: a title, an optional subtitle line and blocks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    /// Title (an `h1` / `#` heading and the HTML `<title>`).
    pub title: String,
    /// The blocks in order.
    pub blocks: Vec<Block>,
}

/// Markdown text and the figure files it references.
#[derive(Debug, Clone, PartialEq)]
pub struct Markdown {
    /// The Markdown text.
    pub text: String,
    /// (file name, SVG) of every figure, to be written next to the Markdown file.
    pub files: Vec<(String, String)>,
}

/// A file-name-safe slug: ASCII letters, digits, `-` and `_`; other runs become `-`.
pub fn slug(name: &str) -> String {
    let mut s = String::new();
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() || ch == '_' {
            s.push(ch.to_ascii_lowercase());
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "figure".to_string()
    } else {
        s
    }
}

/// Escapes text for Markdown: backslash before characters that Markdown would interpret,
/// HTML special characters included (so no raw HTML gets through).
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut line_start = true;
    for ch in text.chars() {
        match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            '#' | '+' | '-' | '=' if line_start => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => {
                out.push(' ');
            }
            c if (c as u32) < 0x20 && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
        line_start = false;
    }
    out
}

const CSS: &str = "
:root{color-scheme:light}
body{font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:1.45;color:#1d1d1f;background:#fff;max-width:1120px;margin:0 auto;padding:24px 32px 60px}
h1{font-size:28px;margin:0 0 18px;border-bottom:2px solid #0072B2;padding-bottom:6px}
h2{font-size:21px;margin:34px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:17px;margin:24px 0 8px}
h4,h5,h6{font-size:15px;margin:18px 0 6px}
p{margin:8px 0}
table{border-collapse:collapse;margin:10px 0;font-size:13px}
th,td{border:1px solid #d6d6d6;padding:4px 9px;vertical-align:top}
th{background:#f0f3f7;text-align:left}
tbody tr:nth-child(even){background:#fafafa}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
caption{caption-side:bottom;text-align:left;color:#555;font-size:12px;padding-top:4px}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:3px 18px;margin:10px 0}
dl.kv dt{font-weight:bold;color:#444}
dl.kv dd{margin:0}
figure{margin:16px 0;page-break-inside:avoid;break-inside:avoid}
figure svg{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:13px;margin-top:4px}
.callout{border-left:6px solid;padding:8px 12px;margin:10px 0;border-radius:3px;page-break-inside:avoid}
.callout .label{font-weight:bold;margin-right:8px;letter-spacing:.04em}
.callout.true{border-color:#009E73;background:#e8f6f0}
.callout.false{border-color:#D55E00;background:#fbeee6}
.callout.note{border-color:#0072B2;background:#e9f2f9}
.callout.warning{border-color:#E69F00;background:#fdf5e3}
.table-wrap{overflow-x:auto}
@media print{body{max-width:none;padding:0;font-size:12px}h2{page-break-after:avoid}.table-wrap{overflow:visible}}
";

impl Document {
    /// An empty document.
    pub fn new(title: impl Into<String>) -> Self {
        Document {
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    /// Appends a block.
    pub fn push(&mut self, block: Block) -> &mut Self {
        self.blocks.push(block);
        self
    }

    /// Appends a heading.
    pub fn heading(&mut self, level: u8, text: impl Into<String>) -> &mut Self {
        self.push(Block::Heading {
            level,
            text: text.into(),
        })
    }

    /// Appends a paragraph.
    pub fn paragraph(&mut self, text: impl Into<String>) -> &mut Self {
        self.push(Block::Paragraph(text.into()))
    }

    /// Appends a key-value list.
    pub fn key_values<K: Into<String>, V: Into<String>>(
        &mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> &mut Self {
        self.push(Block::KeyValues(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ))
    }

    /// Appends a table.
    pub fn table(&mut self, table: Table) -> &mut Self {
        self.push(Block::Table(table))
    }

    /// Appends a figure.
    pub fn figure(
        &mut self,
        name: impl Into<String>,
        svg: String,
        caption: impl Into<String>,
    ) -> &mut Self {
        self.push(Block::Figure(Figure {
            name: name.into(),
            svg,
            caption: caption.into(),
        }))
    }

    /// Appends a callout.
    pub fn callout(
        &mut self,
        kind: Callout,
        title: impl Into<String>,
        text: impl Into<String>,
    ) -> &mut Self {
        self.push(Block::Callout {
            kind,
            title: title.into(),
            text: text.into(),
        })
    }

    /// The file names of the figures (slugs of their names, made unique with `-2`, `-3`, ...).
    pub fn figure_files(&self) -> Vec<String> {
        let mut seen: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        let mut out = Vec::new();
        for b in &self.blocks {
            if let Block::Figure(f) = b {
                let base = slug(&f.name);
                let n = seen.entry(base.clone()).or_insert(0);
                *n += 1;
                out.push(if *n == 1 {
                    format!("{base}.svg")
                } else {
                    format!("{base}-{n}.svg")
                });
            }
        }
        // a later base name may collide with an earlier "-n" name; make all unique
        let mut used = std::collections::BTreeSet::new();
        for name in &mut out {
            let stem = name.trim_end_matches(".svg").to_string();
            let mut candidate = name.clone();
            let mut i = 2;
            while !used.insert(candidate.clone()) {
                candidate = format!("{stem}-x{i}.svg");
                i += 1;
            }
            *name = candidate;
        }
        out
    }

    /// The self-contained HTML page (inline CSS and SVG, no external resources).
    pub fn to_html(&self) -> String {
        let mut h = String::new();
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        let _ = writeln!(h, "<title>{}</title>", escape(&self.title));
        let _ = writeln!(h, "<style>{CSS}</style>\n</head>\n<body>");
        let _ = writeln!(h, "<h1>{}</h1>", escape(&self.title));
        for b in &self.blocks {
            match b {
                Block::Heading { level, text } => {
                    let l = (*level).clamp(1, 6);
                    let _ = writeln!(h, "<h{l}>{}</h{l}>", escape(text));
                }
                Block::Paragraph(t) => {
                    let _ = writeln!(h, "<p>{}</p>", escape(t));
                }
                Block::KeyValues(kv) => {
                    h.push_str("<dl class=\"kv\">\n");
                    for (k, v) in kv {
                        let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
                    }
                    h.push_str("</dl>\n");
                }
                Block::List(items) => {
                    h.push_str("<ul>\n");
                    for it in items {
                        let _ = writeln!(h, "<li>{}</li>", escape(it));
                    }
                    h.push_str("</ul>\n");
                }
                Block::Table(t) => {
                    let width = t.width();
                    h.push_str("<div class=\"table-wrap\"><table>\n");
                    if let Some(cap) = &t.caption {
                        let _ = writeln!(h, "<caption>{}</caption>", escape(cap));
                    }
                    h.push_str("<thead><tr>");
                    for i in 0..width {
                        let name = t.header.get(i).map(String::as_str).unwrap_or("");
                        let class = if t.is_numeric(i) {
                            " class=\"num\""
                        } else {
                            ""
                        };
                        let _ = write!(h, "<th{class}>{}</th>", escape(name));
                    }
                    h.push_str("</tr></thead>\n<tbody>\n");
                    for row in &t.rows {
                        h.push_str("<tr>");
                        for i in 0..width {
                            let cell = row.get(i).map(String::as_str).unwrap_or("");
                            let class = if t.is_numeric(i) {
                                " class=\"num\""
                            } else {
                                ""
                            };
                            let _ = write!(h, "<td{class}>{}</td>", escape(cell));
                        }
                        h.push_str("</tr>\n");
                    }
                    h.push_str("</tbody></table></div>\n");
                }
                Block::Figure(f) => {
                    let _ = writeln!(
                        h,
                        "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>",
                        f.svg,
                        escape(&f.caption)
                    );
                }
                Block::Callout { kind, title, text } => {
                    let _ = write!(
                        h,
                        "<div class=\"callout {}\"><span class=\"label\">{}</span><strong>{}</strong>",
                        kind.class(),
                        kind.label(),
                        escape(title)
                    );
                    if !text.is_empty() {
                        let _ = write!(h, "<div>{}</div>", escape(text));
                    }
                    h.push_str("</div>\n");
                }
            }
        }
        h.push_str("</body>\n</html>\n");
        h
    }

    /// The Markdown text and the figure files it references (`![caption](name.svg)`).
    pub fn to_markdown(&self) -> Markdown {
        let names = self.figure_files();
        let mut names = names.into_iter();
        let mut files = Vec::new();
        let mut m = String::new();
        let _ = writeln!(m, "# {}\n", escape_markdown(&self.title));
        for b in &self.blocks {
            match b {
                Block::Heading { level, text } => {
                    let l = usize::from((*level).clamp(1, 6));
                    let _ = writeln!(m, "{} {}\n", "#".repeat(l), escape_markdown(text));
                }
                Block::Paragraph(t) => {
                    let _ = writeln!(m, "{}\n", escape_markdown(t));
                }
                Block::KeyValues(kv) => {
                    for (k, v) in kv {
                        let _ = writeln!(m, "- **{}**: {}", escape_markdown(k), escape_markdown(v));
                    }
                    m.push('\n');
                }
                Block::List(items) => {
                    for it in items {
                        let _ = writeln!(m, "- {}", escape_markdown(it));
                    }
                    m.push('\n');
                }
                Block::Table(t) => {
                    let width = t.width();
                    if width == 0 {
                        continue;
                    }
                    let cell = |s: &str| {
                        let e = escape_markdown(s);
                        if e.is_empty() { " ".to_string() } else { e }
                    };
                    m.push('|');
                    for i in 0..width {
                        let _ = write!(
                            m,
                            " {} |",
                            cell(t.header.get(i).map(String::as_str).unwrap_or(""))
                        );
                    }
                    m.push_str("\n|");
                    for i in 0..width {
                        m.push_str(if t.is_numeric(i) { " ---: |" } else { " --- |" });
                    }
                    m.push('\n');
                    for row in &t.rows {
                        m.push('|');
                        for i in 0..width {
                            let _ = write!(
                                m,
                                " {} |",
                                cell(row.get(i).map(String::as_str).unwrap_or(""))
                            );
                        }
                        m.push('\n');
                    }
                    if let Some(cap) = &t.caption {
                        let _ = write!(m, "\n*{}*\n", escape_markdown(cap));
                    }
                    m.push('\n');
                }
                Block::Figure(f) => {
                    let file = names
                        .next()
                        .unwrap_or_else(|| format!("{}.svg", slug(&f.name)));
                    let _ = writeln!(m, "![{}]({file})\n", escape_markdown(&f.caption));
                    if !f.caption.is_empty() {
                        let _ = writeln!(m, "*{}*\n", escape_markdown(&f.caption));
                    }
                    files.push((file, f.svg.clone()));
                }
                Block::Callout { kind, title, text } => {
                    let _ = write!(m, "> **{}** {}", kind.label(), escape_markdown(title));
                    if !text.is_empty() {
                        let _ = write!(m, "\n>\n> {}", escape_markdown(text));
                    }
                    m.push_str("\n\n");
                }
            }
        }
        Markdown { text: m, files }
    }

    /// Writes `<stem>.html`, `<stem>.md` and the figure files into `dir` (created if missing).
    pub fn write(&self, dir: &Path, stem: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join(format!("{stem}.html")), self.to_html())?;
        let md = self.to_markdown();
        for (name, svg) in &md.files {
            std::fs::write(dir.join(name), svg)?;
        }
        std::fs::write(dir.join(format!("{stem}.md")), md.text)
    }
}
