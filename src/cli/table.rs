//! Aligned plain-text tables for human output.

/// Column alignment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

pub struct Table {
    headers: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[(&'static str, Align)]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.headers.iter().map(|(h, _)| width(h)).collect();
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
        let mut out = line(self.headers.iter().map(|(h, _)| *h).collect());
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
            out.push('\n');
        }
        out
    }
}

/// One line, cut to `max` characters with an ellipsis.
pub fn preview(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
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
        assert_eq!(preview("hello\nworld", 20), "hello world");
        assert_eq!(preview("abcdef", 4), "abc…");
    }
}
