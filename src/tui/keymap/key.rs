//! One key with its modifiers, as the keymap file names it and as the terminal sends
//! it.

use std::fmt;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key with its modifiers, normalized so that `A` and `shift-a` are one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Key {
        let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match code {
            // Terminals disagree on whether shift-tab carries SHIFT.
            KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            other => other,
        };
        if matches!(code, KeyCode::Char(_) | KeyCode::BackTab) {
            // The character already says whether shift was down.
            mods.remove(KeyModifiers::SHIFT);
        }
        Key { code, mods }
    }

    pub fn from_event(e: &KeyEvent) -> Key {
        Key::new(e.code, e.modifiers)
    }

    /// Parses `a`, `A`, `+`, `ctrl-c`, `alt-x`, `enter`, `esc`, `tab`, `backtab`,
    /// `shift-tab`, `space`, `backspace`, `delete`, arrows, `home`, `end`, `pageup`,
    /// `pagedown`, `f1`..`f12`.
    pub fn parse(s: &str) -> Result<Key, String> {
        let mut rest = s;
        let mut mods = KeyModifiers::NONE;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 1 {
                if let Some(r) = strip_prefix_ci(rest, &lower, "ctrl-") {
                    mods |= KeyModifiers::CONTROL;
                    rest = r;
                    continue;
                }
                if let Some(r) = strip_prefix_ci(rest, &lower, "alt-") {
                    mods |= KeyModifiers::ALT;
                    rest = r;
                    continue;
                }
                if let Some(r) = strip_prefix_ci(rest, &lower, "shift-") {
                    mods |= KeyModifiers::SHIFT;
                    rest = r;
                    continue;
                }
            }
            break;
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            // A key name is shown in the footer and help: one that would drive the
            // terminal (a control or bidi character) is no key a person can type by name.
            (Some(c), None) if crate::domain::text::is_terminal_control(c) => {
                return Err(format!(
                    "'{}' is not a key name (write it by name, e.g. space, tab)",
                    crate::domain::escape_control(s)
                ));
            }
            (Some(c), None) => {
                if mods.contains(KeyModifiers::SHIFT) && c.is_ascii_lowercase() {
                    KeyCode::Char(c.to_ascii_uppercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            (None, _) => return Err(format!("empty key name in '{s}'")),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdn" => KeyCode::PageDown,
                f if f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => KeyCode::F(n),
                    _ => return Err(format!("unknown key '{s}'")),
                },
                _ => return Err(format!("unknown key '{s}'")),
            },
        };
        Ok(Key::new(code, mods))
    }
}

fn strip_prefix_ci<'a>(s: &'a str, lower: &str, prefix: &str) -> Option<&'a str> {
    lower.starts_with(prefix).then(|| &s[prefix.len()..])
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("Shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::Insert => f.write_str("Ins"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}
