//! A yes/no question before a change that needs one: it says exactly what will
//! change, and carries the change ([`Pending`]) until yes.

use crate::store::Seen;
use crate::tui::action::{Action, Command};
use crate::tui::keymap::{Context, Keymap};
use crate::tui::model::{Hints, key_label};

/// A change waiting for yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    DeleteOperator {
        id: i64,
        name: String,
    },
    DeleteSource {
        id: i64,
        name: String,
    },
    /// Assign contacts that need a yes first: a reassignment, or an inactive or full
    /// operator (`force`: the store's force path).
    Assign {
        contacts: Vec<(i64, Seen)>,
        operator_id: i64,
        operator: String,
        force: bool,
    },
    /// Close several marked contacts (each with what it was when marked).
    Close {
        contacts: Vec<(i64, Seen)>,
    },
    /// Quit while a simulator runs (it stops).
    Quit,
    /// Stop the demo's simulator.
    StopSimulator,
}

#[derive(Debug, Clone)]
pub struct Confirm {
    pub title: String,
    /// Exactly what will change.
    pub lines: Vec<String>,
    pub yes: String,
    pub pending: Pending,
}

/// What a key did to the question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmStep {
    Stay,
    /// No: nothing changes.
    Cancel,
    /// Yes: the App carries out the change.
    Yes(Pending),
}

impl Confirm {
    pub fn handle(&self, action: &Action) -> ConfirmStep {
        match action {
            Action::Command(Command::Yes | Command::Confirm) => {
                ConfirmStep::Yes(self.pending.clone())
            }
            Action::Command(Command::Back) => ConfirmStep::Cancel,
            _ => ConfirmStep::Stay,
        }
    }

    pub fn hints(&self, km: &Keymap) -> Hints<'_> {
        vec![
            (
                format!(
                    "{}/{}",
                    key_label(km, Context::Dialog, Command::Yes),
                    key_label(km, Context::Dialog, Command::Confirm)
                ),
                self.yes.as_str(),
            ),
            (key_label(km, Context::Navigation, Command::Back), "cancel"),
        ]
    }
}
