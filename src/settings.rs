//! Everything switchboard takes from its environment, with the flags that override it,
//! read once at start-up into one `Settings` that `main` hands to the CLI and the TUI
//! (and, through the store they open, the server). No other module reads the
//! environment (`tests/architecture.rs` checks).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::domain::validate_actor;
use crate::store::{AUTO, DEFAULT_ACTOR, Durability, OpenOptions};

/// The file when neither `--db` nor `$SWITCHBOARD_DB` names one.
pub const DEFAULT_DB: &str = "switchboard.db";

/// An environment variable with a value switchboard cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SettingsError {
    /// The variable at fault, e.g. `SWITCHBOARD_SEED`.
    pub variable: &'static str,
    message: String,
}

/// Where the user's key bindings are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeymapFile {
    /// Named by `$SWITCHBOARD_KEYMAP`: it must exist (a mistyped path is an error,
    /// not the defaults in silence).
    Named(PathBuf),
    /// `<config dir>/switchboard/keymap.toml`: read when it exists.
    Usual(PathBuf),
}

impl KeymapFile {
    pub fn path(&self) -> &Path {
        match self {
            KeymapFile::Named(p) | KeymapFile::Usual(p) => p,
        }
    }
}

/// What the process runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `--db`, else `$SWITCHBOARD_DB`, else `./switchboard.db`.
    pub db: PathBuf,
    /// `--actor` (checked when the file is opened), else `$USER`, else `$USERNAME`,
    /// else "supervisor"; a variable's name that is no valid actor gives "supervisor".
    pub actor: String,
    /// `$SWITCHBOARD_SEED`: seeds routing and the simulators; `None` seeds from the OS.
    pub seed: Option<u64>,
    /// `$SWITCHBOARD_SYNCHRONOUS`: FULL (the default) or NORMAL.
    pub durability: Durability,
    /// `$SWITCHBOARD_KEYMAP`, else the usual file; `None` without a config dir.
    pub keymap: Option<KeymapFile>,
    /// `$NO_COLOR` set to something non-empty (no-color.org).
    pub no_color: bool,
    /// `$TERM`, when set.
    pub term: Option<String>,
}

impl Settings {
    /// Reads the environment, under the `--db` and `--actor` flags.
    pub fn read(db: Option<PathBuf>, actor: Option<String>) -> Result<Settings, SettingsError> {
        Settings::from_vars(db, actor, |name| std::env::var_os(name), dirs::config_dir)
    }

    /// `read` over any source of variables; `config_dir` is asked only when
    /// `$SWITCHBOARD_KEYMAP` names no file.
    fn from_vars(
        db_flag: Option<PathBuf>,
        actor_flag: Option<String>,
        var: impl Fn(&str) -> Option<OsString>,
        config_dir: impl FnOnce() -> Option<PathBuf>,
    ) -> Result<Settings, SettingsError> {
        Ok(Settings {
            seed: seed(var("SWITCHBOARD_SEED"))?,
            durability: durability(var("SWITCHBOARD_SYNCHRONOUS"))?,
            db: db(db_flag, var("SWITCHBOARD_DB")),
            actor: actor(actor_flag, var("USER"), var("USERNAME")),
            keymap: keymap(var("SWITCHBOARD_KEYMAP"), config_dir),
            no_color: no_color(var("NO_COLOR")),
            term: text(var("TERM")),
        })
    }

    /// How the store opens the file: this durability, seed and actor.
    pub fn open_options(&self, read_only: bool) -> OpenOptions {
        OpenOptions {
            durability: self.durability,
            seed: self.seed,
            actor: Some(self.actor.clone()),
            read_only,
        }
    }
}

/// A variable's value when it is set and is text, as `std::env::var` gives it.
fn text(value: Option<OsString>) -> Option<String> {
    value.and_then(|v| v.into_string().ok())
}

fn db(flag: Option<PathBuf>, value: Option<OsString>) -> PathBuf {
    flag.or_else(|| value.map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DB))
}

/// The flag as given (the store refuses a bad one when it opens the file); else the
/// first of `$USER` and `$USERNAME` that is set, if it is a valid actor that is not
/// `auto`.
fn actor(flag: Option<String>, user: Option<OsString>, username: Option<OsString>) -> String {
    flag.unwrap_or_else(|| {
        text(user)
            .or_else(|| text(username))
            .and_then(|s| validate_actor(&s).ok())
            .filter(|s| !s.eq_ignore_ascii_case(AUTO))
            .unwrap_or_else(|| DEFAULT_ACTOR.to_string())
    })
}

fn seed(value: Option<OsString>) -> Result<Option<u64>, SettingsError> {
    let Some(s) = text(value) else {
        return Ok(None);
    };
    s.trim()
        .parse::<u64>()
        .map(Some)
        .map_err(|_| SettingsError {
            variable: "SWITCHBOARD_SEED",
            message: format!("SWITCHBOARD_SEED='{s}' is not a whole number"),
        })
}

fn durability(value: Option<OsString>) -> Result<Durability, SettingsError> {
    let Some(s) = text(value) else {
        return Ok(Durability::Full);
    };
    match s.trim().to_ascii_uppercase().as_str() {
        "FULL" | "" => Ok(Durability::Full),
        "NORMAL" => Ok(Durability::Normal),
        _ => Err(SettingsError {
            variable: "SWITCHBOARD_SYNCHRONOUS",
            message: format!("SWITCHBOARD_SYNCHRONOUS='{s}': expected FULL or NORMAL"),
        }),
    }
}

fn keymap(
    value: Option<OsString>,
    config_dir: impl FnOnce() -> Option<PathBuf>,
) -> Option<KeymapFile> {
    match value {
        Some(p) if !p.is_empty() => Some(KeymapFile::Named(PathBuf::from(p))),
        _ => config_dir().map(|d| KeymapFile::Usual(d.join("switchboard").join("keymap.toml"))),
    }
}

fn no_color(value: Option<OsString>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<OsString> {
        Some(OsString::from(s))
    }

    #[cfg(unix)]
    fn not_text() -> Option<OsString> {
        use std::os::unix::ffi::OsStringExt;
        Some(OsString::from_vec(vec![0x66, 0xff]))
    }

    #[test]
    fn db_is_the_flag_then_the_variable_then_the_default() {
        let flag = Some(PathBuf::from("flag.db"));
        assert_eq!(db(flag.clone(), os("env.db")), PathBuf::from("flag.db"));
        assert_eq!(db(None, os("env.db")), PathBuf::from("env.db"));
        assert_eq!(db(None, None), PathBuf::from("switchboard.db"));
    }

    #[test]
    fn actor_is_the_flag_then_user_then_username_then_supervisor() {
        let flag = Some("ann".to_string());
        assert_eq!(actor(flag, os("bob"), os("cy")), "ann");
        assert_eq!(actor(None, os("bob"), os("cy")), "bob");
        assert_eq!(actor(None, None, os("cy")), "cy");
        assert_eq!(actor(None, None, None), "supervisor");
        // A set $USER that is no valid actor is not passed over for $USERNAME.
        assert_eq!(actor(None, os("auto"), os("cy")), "supervisor");
        assert_eq!(actor(None, os("AUTO"), None), "supervisor");
        assert_eq!(actor(None, os("  "), None), "supervisor");
        assert_eq!(actor(None, os("a\u{1b}[2J"), None), "supervisor");
        // A bad flag is kept for the store to refuse with its own message.
        assert_eq!(actor(Some("auto".into()), os("bob"), None), "auto");
    }

    #[cfg(unix)]
    #[test]
    fn a_user_that_is_not_text_is_unset() {
        assert_eq!(actor(None, not_text(), os("cy")), "cy");
        assert_eq!(seed(not_text()), Ok(None));
    }

    #[test]
    fn seed_is_a_whole_number_or_named_as_wrong() {
        assert_eq!(seed(None), Ok(None));
        assert_eq!(seed(os(" 42 ")), Ok(Some(42)));
        let e = seed(os("x")).unwrap_err();
        assert_eq!(e.variable, "SWITCHBOARD_SEED");
        assert_eq!(e.to_string(), "SWITCHBOARD_SEED='x' is not a whole number");
        assert!(seed(os("-1")).is_err());
        assert!(seed(os("")).is_err());
    }

    #[test]
    fn durability_is_full_or_normal() {
        assert_eq!(durability(None), Ok(Durability::Full));
        assert_eq!(durability(os("")), Ok(Durability::Full));
        assert_eq!(durability(os(" full")), Ok(Durability::Full));
        assert_eq!(durability(os("Normal")), Ok(Durability::Normal));
        let e = durability(os("OFF")).unwrap_err();
        assert_eq!(e.variable, "SWITCHBOARD_SYNCHRONOUS");
        assert_eq!(
            e.to_string(),
            "SWITCHBOARD_SYNCHRONOUS='OFF': expected FULL or NORMAL"
        );
    }

    #[test]
    fn keymap_is_the_named_file_else_the_usual_one() {
        let config = || Some(PathBuf::from("/home/ann/.config"));
        assert_eq!(
            keymap(os("/tmp/k.toml"), || panic!("not asked")),
            Some(KeymapFile::Named(PathBuf::from("/tmp/k.toml")))
        );
        let usual = Some(KeymapFile::Usual(PathBuf::from(
            "/home/ann/.config/switchboard/keymap.toml",
        )));
        assert_eq!(keymap(os(""), config), usual);
        assert_eq!(keymap(None, config), usual);
        assert_eq!(keymap(None, || None), None);
    }

    #[test]
    fn no_color_needs_a_value() {
        assert!(no_color(os("1")));
        assert!(!no_color(os("")));
        assert!(!no_color(None));
    }

    #[test]
    fn settings_come_from_the_variables_and_flags() {
        let vars = |name: &str| match name {
            "SWITCHBOARD_DB" => os("env.db"),
            "SWITCHBOARD_SEED" => os("7"),
            "SWITCHBOARD_SYNCHRONOUS" => os("normal"),
            "USER" => os("bob"),
            "NO_COLOR" => os("1"),
            "TERM" => os("dumb"),
            _ => None,
        };
        let s = Settings::from_vars(None, Some("ann".into()), vars, || None).unwrap();
        assert_eq!(
            s,
            Settings {
                db: PathBuf::from("env.db"),
                actor: "ann".into(),
                seed: Some(7),
                durability: Durability::Normal,
                keymap: None,
                no_color: true,
                term: Some("dumb".into()),
            }
        );
        let o = s.open_options(true);
        assert_eq!(
            (o.seed, o.durability, o.actor.as_deref(), o.read_only),
            (Some(7), Durability::Normal, Some("ann"), true)
        );
        // The seed is read first, as it was when the store read it.
        let bad = |name: &str| match name {
            "SWITCHBOARD_SEED" => os("x"),
            "SWITCHBOARD_SYNCHRONOUS" => os("y"),
            _ => None,
        };
        let e = Settings::from_vars(None, None, bad, || None).unwrap_err();
        assert_eq!(e.variable, "SWITCHBOARD_SEED");
    }
}
