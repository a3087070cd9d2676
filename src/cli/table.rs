//! Aligned plain-text tables for human output. Every cell is escaped (text from outside
//! never reaches the terminal as control) and measured in terminal columns, so CJK and
//! emoji line up.

use crate::domain::{display_width, escape_control};

/// Column alignment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

pub struct Table {
    headers: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
    min_widths: Vec<usize>,
}

impl Table {
    pub fn new(headers: &[(&'static str, Align)]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
            min_widths: Vec::new(),
        }
    }

    /// Adds a row; each cell is shown on one line with its control characters escaped.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| match escape_control(&c) {
                    std::borrow::Cow::Borrowed(_) => c,
                    std::borrow::Cow::Owned(e) => e,
                })
                .collect(),
        );
    }

    /// Columns at least this wide (in terminal columns), so that pages of one long
    /// listing, rendered one by one, line up.
    pub fn with_min_widths(mut self, widths: &[usize]) -> Table {
        self.min_widths = widths.to_vec();
        self
    }

    pub fn render(&self) -> String {
        self.render_page(true)
    }

    /// The rows, with the header line only when `header`.
    pub fn render_page(&self, header: bool) -> String {
        let width = display_width;
        let mut widths: Vec<usize> = self
            .headers
            .iter()
            .enumerate()
            .map(|(i, (h, _))| width(h).max(self.min_widths.get(i).copied().unwrap_or(0)))
            .collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(width(cell));
                }
            }
        }
        let line = |cells: Vec<&str>| {
            let mut out = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let w = widths[i];
                let pad = " ".repeat(w.saturating_sub(width(cell)));
                let last = i + 1 == cells.len();
                match self.headers[i].1 {
                    Align::Left if last => out.push_str(cell),
                    Align::Left => {
                        out.push_str(cell);
                        out.push_str(&pad);
                    }
                    Align::Right => {
                        out.push_str(&pad);
                        out.push_str(cell);
                    }
                }
                if !last {
                    out.push_str("  ");
                }
            }
            out.trim_end().to_string()
        };
        let mut out = String::new();
        if header {
            out.push_str(&line(self.headers.iter().map(|(h, _)| *h).collect()));
            out.push('\n');
        }
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
            out.push('\n');
        }
        out
    }
}

/// `s` escaped to one line (see [`escape_control`]) and cut to `max` terminal columns
/// with an ellipsis. An escape is never cut in half.
pub fn preview(s: &str, max: usize) -> String {
    let escaped = escape_control(s);
    if display_width(&escaped) <= max {
        return escaped.into_owned();
    }
    let mut cut = String::new();
    let mut buf = [0u8; 4];
    for c in s.chars() {
        let piece = escape_control(c.encode_utf8(&mut buf));
        if display_width(&cut) + display_width(&piece) + 1 > max {
            break;
        }
        cut.push_str(&piece);
    }
    cut.push('…');
    cut
}

/// `s` escaped and padded with spaces to `width` terminal columns (left-aligned).
pub fn pad(s: &str, width: usize) -> String {
    let escaped = escape_control(s);
    let fill = width.saturating_sub(display_width(&escaped));
    format!("{escaped}{}", " ".repeat(fill))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let mut t = Table::new(&[
            ("name", Align::Left),
            ("load", Align::Right),
            ("note", Align::Left),
        ]);
        t.row(vec!["Ann".into(), "3".into(), "x".into()]);
        t.row(vec!["Bartholomew".into(), "12".into(), "".into()]);
        assert_eq!(
            t.render(),
            "name         load  note\nAnn             3  x\nBartholomew    12\n"
        );
    }

    #[test]
    fn previews_cut_long_text() {
        assert_eq!(preview("hello\nworld", 20), "hello\\nworld");
        assert_eq!(preview("abcdef", 4), "abc…");
        assert_eq!(preview("abcd", 4), "abcd");
        // Cut by columns, never inside a wide character or an escape.
        assert_eq!(preview("李小龙李小龙", 6), "李小…");
        assert_eq!(preview("ab\u{1b}[2Jcdefgh", 4), "ab…");
        assert_eq!(preview("ab\u{1b}[2Jcdefgh", 5), "ab\\e…");
    }

    #[test]
    fn cells_are_escaped_and_aligned_by_display_width() {
        let mut t = Table::new(&[("name", Align::Left), ("load", Align::Right)]);
        t.row(vec!["李小龙".into(), "3".into()]);
        t.row(vec!["Ann".into(), "12".into()]);
        t.row(vec!["😀x".into(), "1".into()]);
        t.row(vec!["\u{1b}]2;t\u{7}".into(), "0".into()]);
        let out = t.render();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "李小龙          3");
        assert_eq!(lines[4], "\\e]2;t\\u{7}     0");
        // The last column is right-aligned: every line ends at the same column.
        assert!(lines.iter().all(|l| display_width(l) == 17), "{out}");
    }

    #[test]
    fn pads_by_display_width() {
        assert_eq!(pad("李", 4), "李  ");
        assert_eq!(pad("a\u{7}", 8), "a\\u{7}  ");
        assert_eq!(pad("toolong", 3), "toolong");
    }
}
