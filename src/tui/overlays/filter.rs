//! The feed's filter picker: a source, an operator and a status, each cycled with
//! left and right.

use crate::domain::ContactStatus;
use crate::store::{FeedFilter, Store, StoreError};
use crate::tui::action::{Action, Command};
use crate::tui::keymap::{Context, Keymap};
use crate::tui::model::{Hints, cycle, key_label};

#[derive(Debug, Clone)]
pub struct FilterPicker {
    /// (id, label); index 0 is "any".
    pub sources: Vec<(Option<i64>, String)>,
    pub operators: Vec<(Option<i64>, String)>,
    pub statuses: Vec<(Option<crate::domain::ContactStatus>, String)>,
    /// Chosen index per row: source, operator, status.
    pub chosen: [usize; 3],
    pub focus: usize,
}

/// What a key did to the picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterStep {
    Stay,
    Cancel,
    /// Enter: filter the feed by these (`None`: any), with the names to show.
    Apply {
        source: Option<(i64, String)>,
        operator: Option<(i64, String)>,
        status: Option<ContactStatus>,
    },
}

impl FilterPicker {
    /// The picker, on the feed's filter `f`.
    pub fn open(store: &mut Store, f: &FeedFilter) -> Result<FilterPicker, StoreError> {
        let any = |label: &str| (None, label.to_string());
        let mut sources = vec![any("any source")];
        sources.extend(store.sources()?.into_iter().map(|s| (Some(s.id), s.name)));
        let mut operators = vec![any("any operator")];
        operators.extend(store.operators()?.into_iter().map(|o| (Some(o.id), o.name)));
        let mut statuses = vec![(None, "any status".to_string())];
        statuses.extend(ContactStatus::ALL.map(|s| (Some(s), s.to_string())));
        let chosen = [
            sources.iter().position(|x| x.0 == f.source_id).unwrap_or(0),
            operators
                .iter()
                .position(|x| x.0 == f.operator_id)
                .unwrap_or(0),
            statuses.iter().position(|x| x.0 == f.status).unwrap_or(0),
        ];
        Ok(FilterPicker {
            sources,
            operators,
            statuses,
            chosen,
            focus: 0,
        })
    }

    /// One key.
    pub fn handle(&mut self, action: &Action) -> FilterStep {
        let lens = [
            self.sources.len(),
            self.operators.len(),
            self.statuses.len(),
        ];
        match action {
            Action::Command(Command::Back) => return FilterStep::Cancel,
            Action::Command(Command::Down | Command::NextField) => {
                self.focus = cycle(self.focus, 3, 1)
            }
            Action::Command(Command::Up | Command::PrevField) => {
                self.focus = cycle(self.focus, 3, -1)
            }
            Action::Command(c @ (Command::Left | Command::Right)) => {
                let delta = if *c == Command::Right { 1 } else { -1 };
                let i = &mut self.chosen[self.focus];
                *i = cycle(*i, lens[self.focus], delta);
            }
            Action::Command(Command::Confirm) => {
                let named = |x: Option<&(Option<i64>, String)>| {
                    x.and_then(|(id, name)| id.map(|id| (id, name.clone())))
                };
                return FilterStep::Apply {
                    source: named(self.sources.get(self.chosen[0])),
                    operator: named(self.operators.get(self.chosen[1])),
                    status: self.statuses.get(self.chosen[2]).and_then(|x| x.0),
                };
            }
            _ => {}
        }
        FilterStep::Stay
    }

    pub fn hints(&self, km: &Keymap) -> Hints<'static> {
        vec![
            (
                format!(
                    "{}/{}",
                    key_label(km, Context::Navigation, Command::Left),
                    key_label(km, Context::Navigation, Command::Right)
                ),
                "change",
            ),
            (key_label(km, Context::Dialog, Command::Confirm), "apply"),
            (key_label(km, Context::Navigation, Command::Back), "cancel"),
        ]
    }
}
