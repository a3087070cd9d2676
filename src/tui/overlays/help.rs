//! The `?` overlay: every binding of the keymap in use, by context, with its help
//! text, from the same table as the footer hints. It opens at the current tab's keys
//! (its section comes first), and `/` searches keys and texts.

use crate::tui::action::{Action, Command};
use crate::tui::keymap::{Context, Keymap};
use crate::tui::model::{FilterEdit, TextFilter};

#[derive(Debug, Clone, Default)]
pub struct HelpView {
    pub scroll: usize,
    pub filter: TextFilter,
}

/// One line of the help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpRow {
    Section(&'static str),
    /// Keys, what they do.
    Key(String, &'static str),
}

impl HelpView {
    /// The sections, the current tab's (`first`) first, each with the bindings that
    /// match the search.
    pub fn rows(&self, km: &Keymap, first: Context) -> Vec<HelpRow> {
        let mut sections = km.help();
        sections.sort_by_key(|(ctx, _)| *ctx != first);
        let mut out = Vec::new();
        for (ctx, rows) in sections {
            let matching: Vec<(String, &'static str)> = rows
                .into_iter()
                .filter(|(keys, help)| self.filter.matches(&[keys.as_str(), help, ctx.title()]))
                .collect();
            if matching.is_empty() {
                continue;
            }
            out.push(HelpRow::Section(ctx.title()));
            out.extend(matching.into_iter().map(|(k, h)| HelpRow::Key(k, h)));
        }
        out
    }

    /// One key; false when the help closes.
    pub fn handle(&mut self, action: &Action) -> bool {
        if self.filter.editing {
            if self.filter.edit(action) != FilterEdit::Ignored {
                self.scroll = 0;
            }
            return true;
        }
        let Action::Command(cmd) = action else {
            return true;
        };
        match cmd {
            Command::Help => return false,
            Command::Back if self.filter.text.is_empty() => return false,
            Command::Back => self.filter = TextFilter::default(),
            Command::Filter => self.filter.editing = true,
            Command::Down => self.scroll += 1,
            Command::Up => self.scroll = self.scroll.saturating_sub(1),
            Command::PageDown => self.scroll += 10,
            Command::PageUp => self.scroll = self.scroll.saturating_sub(10),
            Command::First => self.scroll = 0,
            _ => {}
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_at_the_current_tab_and_searches() {
        let km = Keymap::defaults().unwrap();
        let help = HelpView::default();
        let rows = help.rows(&km, Context::Feed);
        assert_eq!(rows[0], HelpRow::Section(Context::Feed.title()));
        let mut help = HelpView::default();
        help.handle(&Action::Command(Command::Filter));
        for c in "assign".chars() {
            help.handle(&Action::Input(c));
        }
        let rows = help.rows(&km, Context::Operators);
        assert!(
            rows.iter().all(|r| matches!(r, HelpRow::Section(_))
                || matches!(r, HelpRow::Key(_, h) if h.contains("assign"))),
            "{rows:?}"
        );
        assert!(rows.iter().any(|r| matches!(r, HelpRow::Key(..))));
        // Esc clears the search first, then closes.
        help.handle(&Action::Command(Command::Confirm));
        assert!(help.handle(&Action::Command(Command::Back)));
        assert!(help.filter.text.is_empty());
        assert!(!help.handle(&Action::Command(Command::Back)));
    }
}
