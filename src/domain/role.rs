//! What an API token may do: its role, and the kinds of access each role allows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::text::escape_control;
use super::types::DomainError;

/// The role of an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A form or a bot that hands in contacts, and nothing else.
    Intake,
    /// Reads everything, changes nothing (a wallboard, a report).
    Viewer,
    /// Everything a supervisor at the TUI may do.
    Supervisor,
}

/// A kind of access a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Hand in new contacts (intake).
    CreateContacts,
    /// Read operators, sources, weights, contacts, leads, stats, the audit log.
    Read,
    /// Change anything: operators, sources, weights, assignments, statuses.
    Write,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Intake, Role::Viewer, Role::Supervisor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Intake => "intake",
            Role::Viewer => "viewer",
            Role::Supervisor => "supervisor",
        }
    }

    /// Whether a token of this role may do what needs `access`: intake only hands
    /// in contacts, a viewer only reads, a supervisor may do everything.
    pub fn allows(self, access: Access) -> bool {
        match self {
            Role::Intake => access == Access::CreateContacts,
            Role::Viewer => access == Access::Read,
            Role::Supervisor => true,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "intake" => Ok(Role::Intake),
            "viewer" => Ok(Role::Viewer),
            "supervisor" => Ok(Role::Supervisor),
            other => Err(DomainError::invalid(
                "role",
                format!(
                    "unknown role '{}': expected intake, viewer or supervisor",
                    escape_control(other)
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_text_and_json() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(role.to_string(), role.as_str());
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert_eq!(" Viewer ".parse::<Role>().unwrap(), Role::Viewer);
    }

    #[test]
    fn an_unknown_role_names_the_three() {
        let e = "admin".parse::<Role>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown role 'admin': expected intake, viewer or supervisor"
        );
        assert_eq!(e.field(), Some("role"));
        let e = "x\u{1b}[2J".parse::<Role>().unwrap_err().to_string();
        assert!(!e.contains('\u{1b}') && e.contains("x\\e[2j"), "{e}");
        assert!("".parse::<Role>().is_err());
    }

    /// The whole table, spelled out: a new access kind or role must be decided here.
    #[test]
    fn what_each_role_allows() {
        let table = [
            (Role::Intake, [true, false, false]),
            (Role::Viewer, [false, true, false]),
            (Role::Supervisor, [true, true, true]),
        ];
        for (role, expected) in table {
            let got = [Access::CreateContacts, Access::Read, Access::Write].map(|a| role.allows(a));
            assert_eq!(got, expected, "{role}");
        }
    }
}
