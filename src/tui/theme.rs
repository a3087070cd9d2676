//! Every colour and text style of the TUI. The 16 ANSI colours on the terminal's own
//! background (never a background fill of our own, never truecolour); with `NO_COLOR`
//! no colour at all, and the selection shows in reverse video.

use ratatui::style::{Color, Modifier, Style};

use crate::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to something non-empty (no-color.org).
    pub fn from_settings(settings: &Settings) -> Theme {
        Theme {
            color: !settings.no_color,
        }
    }

    pub fn plain() -> Theme {
        Theme { color: false }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    /// The selected row or cell.
    pub fn selected(self) -> Style {
        if self.color {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// The active tab.
    pub fn tab_active(self) -> Style {
        if self.color {
            self.fg(Color::Cyan)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn header(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn border(self) -> Style {
        self.fg(Color::DarkGray)
    }

    /// Inactive or full operators, closed contacts, secondary text.
    pub fn dim(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn info(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn warn(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn waiting(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn active(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn closed(self) -> Style {
        self.dim()
    }

    /// A contact's status, the same everywhere it is shown.
    pub fn status(self, status: crate::domain::ContactStatus) -> Style {
        use crate::domain::ContactStatus as S;
        match status {
            S::Waiting => self.waiting(),
            S::Active => self.active(),
            S::Closed => self.closed(),
        }
    }

    /// A row that arrived in the last two seconds.
    pub fn fresh(self) -> Style {
        if self.color {
            self.fg(Color::LightGreen).add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        }
    }

    pub fn marked(self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::BOLD)
    }

    /// A load bar: calm, busy (>= 80%), full.
    pub fn load(self, load: u32, max: u32) -> Style {
        if max == 0 || load >= max {
            self.fg(Color::Red)
        } else if load * 5 >= max * 4 {
            self.fg(Color::Yellow)
        } else {
            self.fg(Color::Green)
        }
    }

    pub fn configured_bar(self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn actual_bar(self) -> Style {
        self.fg(Color::Magenta)
    }

    pub fn badge(self) -> Style {
        if self.color {
            self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ContactStatus;

    /// Every colour the screen uses is one of the 16 ANSI colours, so a terminal's
    /// own palette (light or dark, high contrast) decides how they look.
    #[test]
    fn colours_stay_within_the_16_ansi_colours() {
        let t = Theme { color: true };
        let mut styles = vec![
            t.selected(),
            t.tab_active(),
            t.header(),
            t.title(),
            t.border(),
            t.dim(),
            t.key(),
            t.error(),
            t.info(),
            t.warn(),
            t.fresh(),
            t.marked(),
            t.configured_bar(),
            t.actual_bar(),
            t.badge(),
        ];
        styles.extend(ContactStatus::ALL.map(|s| t.status(s)));
        styles.extend([(0, 5), (4, 5), (5, 5)].map(|(l, m)| t.load(l, m)));
        for style in styles {
            for c in [style.fg, style.bg].into_iter().flatten() {
                assert!(
                    !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                    "{c:?} is not one of the 16 ANSI colours"
                );
            }
        }
    }
}
