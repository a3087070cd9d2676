//! Which action a key means right now: dialogs and text entry first, then the tab,
//! the navigation keys and the global keys.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

use super::App;
use crate::tui::action::{Action, Command};
use crate::tui::keymap::{Context, Key};
use crate::tui::layout;
use crate::tui::model::Tab;

impl App {
    /// Feeds one key event (presses only) through the keymap into `update`.
    pub fn handle_key(&mut self, event: KeyEvent) {
        if event.kind != KeyEventKind::Press {
            return;
        }
        if let Some(action) = self.action_for(Key::from_event(&event)) {
            self.update(action);
        }
    }

    /// What a key means right now: dialogs and text entry first, then the view, the
    /// navigation keys and the global keys.
    pub fn action_for(&self, key: Key) -> Option<Action> {
        let plain_char = match key.code {
            KeyCode::Char(c) if key.mods.is_empty() => Some(c),
            _ => None,
        };
        let global_quit = || {
            (plain_char.is_none()
                && self.keymap.lookup(&[Context::Global], key) == Some(Command::Quit))
            .then_some(Action::Command(Command::Quit))
        };
        if layout::too_small(self.area) {
            return (self.keymap.lookup(&[Context::Global], key) == Some(Command::Quit))
                .then_some(Action::Command(Command::Quit));
        }
        if let Some(help) = &self.help {
            // Typing a search: characters are text; Enter and Esc end it.
            if help.filter.editing {
                if let Some(c) = plain_char {
                    return Some(Action::Input(c));
                }
                if key.code == KeyCode::Backspace {
                    return Some(Action::Backspace);
                }
                return self
                    .keymap
                    .lookup(&[Context::Dialog, Context::Navigation], key)
                    .map(Action::Command)
                    .or_else(global_quit);
            }
            return self
                .keymap
                .lookup(&[Context::Navigation, Context::Global], key)
                .map(Action::Command);
        }
        // A Weights cell with digits typed into it is a text field too.
        let text_entry = match &self.dialog {
            Some(d) => d.takes_text(),
            None => {
                self.current_filter().editing
                    || (self.tab == Tab::Weights && self.weights.typed().is_some())
            }
        };
        if text_entry {
            if let Some(c) = plain_char {
                return Some(Action::Input(c));
            }
            if key.code == KeyCode::Backspace {
                return Some(Action::Backspace);
            }
        }
        if self.dialog.is_some() || text_entry {
            return self
                .keymap
                .lookup(&[Context::Dialog, Context::Navigation], key)
                .map(Action::Command)
                .or_else(global_quit);
        }
        // A cell being edited with nothing typed yet takes digits; any other key means
        // what it means on the tab (and ends the edit).
        if self.tab == Tab::Weights && self.weights.edit.is_some() {
            if let Some(c) = plain_char.filter(char::is_ascii_digit) {
                return Some(Action::Input(c));
            }
            if key.code == KeyCode::Backspace {
                return Some(Action::Backspace);
            }
        }
        self.keymap
            .lookup(
                &[self.tab.context(), Context::Navigation, Context::Global],
                key,
            )
            .map(Action::Command)
    }
}
