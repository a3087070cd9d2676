//! Key bindings as data: `assets/keymap.toml` is the default, a user file overrides it
//! per action, and the one table feeds key lookup, the footer hints and the help
//! overlay. Conflicting bindings are an error at start-up, not a surprise later.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ratatui::crossterm::event::KeyCode;

use super::action::Command;
use crate::settings::KeymapFile;

mod bindable;
mod key;

pub use bindable::{BINDABLE, Bindable, Context, PAIRED_HINTS};
pub use key::Key;

pub const DEFAULT_KEYMAP: &str = include_str!("../../../assets/keymap.toml");

#[derive(Debug, thiserror::Error)]
pub enum KeymapError {
    #[error("{file}: {why}")]
    Invalid { file: String, why: String },
    #[error("{file}: key '{key}' is bound to both {first} and {second}")]
    Conflict {
        file: String,
        key: String,
        first: String,
        second: String,
    },
    #[error("cannot read {0}")]
    Io(String),
}

/// One bound command with its keys.
#[derive(Debug, Clone)]
struct Binding {
    context: Context,
    command: Command,
    keys: Vec<Key>,
}

/// The active key bindings.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<Binding>,
    /// The user's file this keymap was loaded with (the help overlay names it).
    user_file: Option<PathBuf>,
}

/// Sets of contexts that are looked up together, so one key may mean only one thing
/// in each of them.
const LOOKUP_SETS: &[&[Context]] = &[
    &[Context::Operators, Context::Navigation, Context::Global],
    &[Context::Sources, Context::Navigation, Context::Global],
    &[Context::Weights, Context::Navigation, Context::Global],
    &[Context::Feed, Context::Navigation, Context::Global],
    &[Context::Dialog, Context::Navigation],
];

type Sections = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn parse_sections(text: &str, file: &str) -> Result<Sections, KeymapError> {
    toml::from_str::<Sections>(text).map_err(|e| KeymapError::Invalid {
        file: file.to_string(),
        why: format!(
            "not a keymap ({}): expected [section] action = [\"key\", ...]",
            e.message()
        ),
    })
}

impl Keymap {
    /// The embedded defaults, without any user file.
    pub fn defaults() -> Result<Keymap, KeymapError> {
        Keymap::from_texts(DEFAULT_KEYMAP, None)
    }

    /// The user's file this keymap was loaded with, for the help overlay to name;
    /// `None` for the defaults alone.
    pub fn user_path(&self) -> Option<&Path> {
        self.user_file.as_deref()
    }

    /// Defaults overridden by the user's file (`Settings::keymap`). A file that
    /// `SWITCHBOARD_KEYMAP` names must exist: a mistyped path is an error, not the
    /// defaults in silence; the usual file is read when it exists.
    pub fn load(file: Option<&KeymapFile>) -> Result<Keymap, KeymapError> {
        let Some(file) = file else {
            return Keymap::defaults();
        };
        if let KeymapFile::Named(path) = file
            && !path.exists()
        {
            return Err(KeymapError::Io(format!(
                "{} (named by SWITCHBOARD_KEYMAP): no such file",
                path.display()
            )));
        }
        let mut keymap = Keymap::load_from(file.path())?;
        keymap.user_file = Some(file.path().to_path_buf());
        Ok(keymap)
    }

    pub fn load_from(path: &Path) -> Result<Keymap, KeymapError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                Keymap::from_texts(DEFAULT_KEYMAP, Some((&text, &path.display().to_string())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Keymap::defaults(),
            Err(e) => Err(KeymapError::Io(format!("{}: {e}", path.display()))),
        }
    }

    /// `defaults`, then each action named in `user` replaces its keys.
    pub fn from_texts(defaults: &str, user: Option<(&str, &str)>) -> Result<Keymap, KeymapError> {
        let mut bindings: Vec<Binding> = Vec::new();
        let mut apply = |sections: Sections, file: &str| -> Result<(), KeymapError> {
            let invalid = |why: String| KeymapError::Invalid {
                file: file.to_string(),
                why,
            };
            for (section, actions) in sections {
                let context = Context::parse(&section).ok_or_else(|| {
                    invalid(format!(
                        "unknown section [{section}]; known: {}",
                        Context::ALL.map(Context::name).join(", ")
                    ))
                })?;
                for (action, keys) in actions {
                    let action = renamed(context, &action).unwrap_or(&action).to_string();
                    let def = BINDABLE
                        .iter()
                        .find(|d| d.context == context && d.name == action)
                        .ok_or_else(|| {
                            let known: Vec<&str> = BINDABLE
                                .iter()
                                .filter(|d| d.context == context)
                                .map(|d| d.name)
                                .collect();
                            invalid(format!(
                                "unknown action '{action}' in [{section}]; known: {}",
                                known.join(", ")
                            ))
                        })?;
                    let mut parsed = Vec::new();
                    for k in &keys {
                        let key = Key::parse(k)
                            .map_err(|why| invalid(format!("[{section}] {action}: {why}")))?;
                        if context == Context::Weights
                            && matches!(key.code, KeyCode::Char(c) if c.is_ascii_digit())
                            && key.mods.is_empty()
                        {
                            return Err(invalid(format!(
                                "[{section}] {action}: digits type a weight into a Weights cell being edited and cannot be bound there"
                            )));
                        }
                        if !parsed.contains(&key) {
                            parsed.push(key);
                        }
                    }
                    match bindings
                        .iter_mut()
                        .find(|x| x.context == context && x.command == def.command)
                    {
                        Some(existing) => existing.keys = parsed,
                        None => bindings.push(Binding {
                            context,
                            command: def.command,
                            keys: parsed,
                        }),
                    }
                }
            }
            Ok(())
        };
        apply(
            parse_sections(defaults, "assets/keymap.toml")?,
            "assets/keymap.toml",
        )?;
        let file = match user {
            Some((text, file)) => {
                apply(parse_sections(text, file)?, file)?;
                file.to_string()
            }
            None => "assets/keymap.toml".to_string(),
        };
        let keymap = Keymap {
            bindings,
            user_file: None,
        };
        keymap.check_conflicts(&file)?;
        Ok(keymap)
    }

    fn check_conflicts(&self, file: &str) -> Result<(), KeymapError> {
        for set in LOOKUP_SETS {
            let mut seen: Vec<(Key, &Binding)> = Vec::new();
            for ctx in *set {
                for binding in self.bindings.iter().filter(|x| x.context == *ctx) {
                    for key in &binding.keys {
                        if let Some((_, other)) = seen.iter().find(|(k, _)| k == key)
                            && other.command != binding.command
                        {
                            return Err(KeymapError::Conflict {
                                file: file.to_string(),
                                key: key.to_string(),
                                first: qualified(other),
                                second: qualified(binding),
                            });
                        }
                        seen.push((*key, binding));
                    }
                }
            }
        }
        Ok(())
    }

    /// The command `key` runs in the first of `contexts` that binds it.
    pub fn lookup(&self, contexts: &[Context], key: Key) -> Option<Command> {
        contexts.iter().find_map(|ctx| {
            self.bindings
                .iter()
                .find(|x| x.context == *ctx && x.keys.contains(&key))
                .map(|x| x.command)
        })
    }

    /// The keys of one command, as shown to people (`j/↓`). Empty when unbound.
    pub fn keys_of(&self, context: Context, command: Command) -> String {
        self.bindings
            .iter()
            .find(|x| x.context == context && x.command == command)
            .map(|x| {
                x.keys
                    .iter()
                    .map(Key::to_string)
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default()
    }

    /// The first key of a command, for a short hint.
    pub fn first_key(&self, context: Context, command: Command) -> Option<Key> {
        self.bindings
            .iter()
            .find(|x| x.context == context && x.command == command)
            .and_then(|x| x.keys.first().copied())
    }

    /// The first key of a command that is not a plain character (forms type those).
    pub fn first_special_key(&self, context: Context, command: Command) -> Option<Key> {
        self.bindings
            .iter()
            .find(|x| x.context == context && x.command == command)
            .and_then(|x| {
                x.keys
                    .iter()
                    .find(|k| !(matches!(k.code, KeyCode::Char(_)) && k.mods.is_empty()))
                    .copied()
            })
    }

    /// Footer hints of `context`: (first key, hint) of each command that has a hint,
    /// leaving out editing commands when `read_only`.
    pub fn hints(&self, context: Context, read_only: bool) -> Vec<(String, &'static str)> {
        let mut out: Vec<(Command, String, &'static str)> = Vec::new();
        for d in BINDABLE
            .iter()
            .filter(|d| d.context == context && !(read_only && d.command.edits()))
        {
            let (Some(hint), Some(key)) = (d.hint, self.first_key(context, d.command)) else {
                continue;
            };
            // A pair of opposite commands shares one hint: `+/- max`.
            let paired = out.last().and_then(|(prev, _, _)| {
                PAIRED_HINTS
                    .iter()
                    .find(|p| p.0 == context && p.1 == *prev && p.2 == d.command)
            });
            match (paired, out.last_mut()) {
                (Some(p), Some(last)) => *last = (d.command, format!("{}/{key}", last.1), p.3),
                _ => out.push((d.command, key.to_string(), hint)),
            }
        }
        out.into_iter().map(|(_, k, h)| (k, h)).collect()
    }

    /// The help overlay: per context, each bound command's keys and help text.
    pub fn help(&self) -> Vec<(Context, Vec<(String, &'static str)>)> {
        Context::ALL
            .into_iter()
            .map(|ctx| {
                let rows = BINDABLE
                    .iter()
                    .filter(|d| d.context == ctx)
                    .map(|d| (self.keys_of(ctx, d.command), d.help))
                    .filter(|(keys, _)| !keys.is_empty())
                    .collect();
                (ctx, rows)
            })
            .collect()
    }
}

fn qualified(b: &Binding) -> String {
    let name = BINDABLE
        .iter()
        .find(|d| d.context == b.context && d.command == b.command)
        .map(|d| d.name)
        .unwrap_or("?");
    format!("{}.{name}", b.context.name())
}

/// Actions renamed since a keymap file may have been written, by their new name: an
/// old file keeps working.
fn renamed(context: Context, action: &str) -> Option<&'static str> {
    match (context, action) {
        // Enter used to set the typed digits; it now edits the cell.
        (Context::Weights, "set") => Some("edit"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    #[test]
    fn keys_parse_and_normalize() {
        assert_eq!(
            Key::parse("ctrl-c").unwrap(),
            Key::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
        );
        assert_eq!(
            Key::parse("G").unwrap(),
            Key::new(KeyCode::Char('G'), KeyModifiers::SHIFT)
        );
        assert_eq!(Key::parse("shift-g").unwrap(), Key::parse("G").unwrap());
        assert_eq!(
            Key::parse("shift-tab").unwrap(),
            Key::parse("backtab").unwrap()
        );
        assert_eq!(
            Key::new(KeyCode::Tab, KeyModifiers::SHIFT),
            Key::parse("backtab").unwrap()
        );
        assert_eq!(Key::parse("-").unwrap().code, KeyCode::Char('-'));
        assert_eq!(Key::parse("space").unwrap().code, KeyCode::Char(' '));
        assert_eq!(Key::parse("F5").unwrap().code, KeyCode::F(5));
        // A key drawn in the footer must not drive the terminal.
        for bad in ["\u{1b}", "ctrl-\u{7}", "\u{202e}", "\u{9b}"] {
            let e = Key::parse(bad).unwrap_err();
            assert!(e.contains("not a key name") && !e.contains('\u{1b}'), "{e}");
        }
        assert!(Key::parse("f13").is_err());
        assert!(Key::parse("hyper-x").is_err());
        assert!(Key::parse("").is_err());
    }

    #[test]
    fn defaults_bind_every_command() {
        let km = Keymap::defaults().unwrap();
        for d in BINDABLE {
            assert!(
                km.first_key(d.context, d.command).is_some(),
                "{}.{} has no default key",
                d.context.name(),
                d.name
            );
        }
    }

    #[test]
    fn user_file_overrides_per_action() {
        let km = Keymap::from_texts(
            DEFAULT_KEYMAP,
            Some(("[operators]\nadd = [\"n\"]\n", "user.toml")),
        )
        .unwrap();
        let n = Key::parse("n").unwrap();
        let a = Key::parse("a").unwrap();
        let ctx = [Context::Operators, Context::Navigation, Context::Global];
        assert_eq!(km.lookup(&ctx, n), Some(Command::Add));
        assert_eq!(km.lookup(&ctx, a), None);
        // Other actions keep their defaults.
        assert_eq!(
            km.lookup(&ctx, Key::parse("e").unwrap()),
            Some(Command::Edit)
        );
        // The feed's `a` is untouched.
        let feed = [Context::Feed, Context::Navigation, Context::Global];
        assert_eq!(km.lookup(&feed, a), Some(Command::Assign));
    }

    #[test]
    fn conflicts_are_errors() {
        let err = Keymap::from_texts(
            DEFAULT_KEYMAP,
            Some(("[operators]\nadd = [\"q\"]\n", "user.toml")),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("'q'") && msg.contains("operators.add") && msg.contains("global.quit"),
            "{msg}"
        );
        // Same key in two views that are never looked up together is fine.
        assert!(
            Keymap::from_texts(
                DEFAULT_KEYMAP,
                Some(("[sources]\nadd = [\"n\"]\n[feed]\nassign = [\"n\"]\n", "u"))
            )
            .is_ok()
        );
    }

    #[test]
    fn opposite_keys_share_one_hint_only_when_both_are_bound_next_to_each_other() {
        let km = Keymap::defaults().unwrap();
        let h = km.hints(Context::Operators, false);
        assert!(h.contains(&("+/-".to_string(), "max")), "{h:?}");
        assert!(
            !h.iter().any(|(_, l)| *l == "max+" || *l == "max-"),
            "{h:?}"
        );
        // One of them unbound: the other keeps its own hint.
        let km = Keymap::from_texts(DEFAULT_KEYMAP, Some(("[operators]\ndecrease = []\n", "u")))
            .unwrap();
        let h = km.hints(Context::Operators, false);
        assert!(h.contains(&("+".to_string(), "max+")), "{h:?}");
    }

    #[test]
    fn an_old_name_still_binds_its_action() {
        let km =
            Keymap::from_texts(DEFAULT_KEYMAP, Some(("[weights]\nset = [\"i\"]\n", "u"))).unwrap();
        assert_eq!(
            km.first_key(Context::Weights, Command::Edit)
                .map(|k| k.to_string()),
            Some("i".to_string())
        );
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let e = Keymap::from_texts(DEFAULT_KEYMAP, Some(("[opertors]\nadd = [\"n\"]\n", "u")))
            .unwrap_err();
        assert!(e.to_string().contains("unknown section [opertors]"), "{e}");
        let e =
            Keymap::from_texts(DEFAULT_KEYMAP, Some(("[feed]\nfly = [\"n\"]\n", "u"))).unwrap_err();
        assert!(e.to_string().contains("unknown action 'fly'"), "{e}");
        let e = Keymap::from_texts(
            DEFAULT_KEYMAP,
            Some(("[feed]\nassign = [\"ctrl-\"]\n", "u")),
        )
        .unwrap_err();
        assert!(e.to_string().contains("feed"), "{e}");
        let e = Keymap::from_texts(DEFAULT_KEYMAP, Some(("[weights]\nclear = [\"0\"]\n", "u")))
            .unwrap_err();
        assert!(e.to_string().contains("digits"), "{e}");
        let e = Keymap::from_texts(DEFAULT_KEYMAP, Some(("feed = 3", "u"))).unwrap_err();
        assert!(e.to_string().contains("not a keymap"), "{e}");
    }

    #[test]
    fn hints_leave_out_edits_when_read_only() {
        let km = Keymap::defaults().unwrap();
        let rw = km.hints(Context::Operators, false);
        let ro = km.hints(Context::Operators, true);
        assert!(rw.iter().any(|(_, h)| *h == "add"));
        assert!(!ro.iter().any(|(_, h)| *h == "add"));
        assert!(ro.iter().any(|(_, h)| *h == "detail"));
    }
}
