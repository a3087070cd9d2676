//! The operator picker for assigning contacts by hand: every operator, those routing
//! could pick first, the rest with every reason they are not eligible (by the one
//! rule routing uses). A reassignment or a forced assignment is asked first.

use crate::domain::ContactStatus;
use crate::routing::{Candidate, Ineligibility, Ineligible};
use crate::store::{Contact, Seen, Store, StoreError};
use crate::tui::action::{Action, Command};
use crate::tui::keymap::{Context, Keymap};
use crate::tui::model::{Hints, Selection, key_label};

use super::confirm::{Confirm, Pending};

#[derive(Debug, Clone)]
pub struct PickRow {
    pub operator_id: i64,
    pub name: String,
    /// Weight for the contacts' source (the smallest, if several sources).
    pub weight: u32,
    pub load: u32,
    pub max_load: u32,
    /// Why routing would not give it the contacts (empty: it would), by the one rule
    /// routing and the store's force check use.
    pub why: Ineligibility,
}

#[derive(Debug, Clone)]
pub struct AssignPicker {
    /// The contacts to assign, with the state the supervisor saw.
    pub contacts: Vec<(i64, Seen)>,
    /// Contacts among them that an operator holds now, and who: assigning them is a
    /// reassignment, which is confirmed first.
    pub held: Vec<(i64, String)>,
    /// Their sources, for eligibility.
    pub sources: Vec<i64>,
    /// e.g. "contact #12 (telegram-bot)" or "3 marked contacts".
    pub subject: String,
    pub rows: Vec<PickRow>,
    pub sel: Selection,
}

/// What a key did to the picker.
#[derive(Debug, Clone)]
pub enum AssignStep {
    Stay,
    Cancel,
    /// Assign at once (a `Pending::Assign` without force).
    Assign(Pending),
    /// A reassignment or force: ask first.
    Ask(Confirm),
}

impl AssignPicker {
    /// The picker for `targets` (the marked contacts, else the selected one), with
    /// why not when none of them can be assigned. `marked`: they are marks.
    pub fn open(
        store: &mut Store,
        targets: Vec<(i64, Seen)>,
        marked: bool,
    ) -> Result<Result<AssignPicker, String>, StoreError> {
        let contacts: Vec<(i64, Seen)> = targets
            .into_iter()
            .filter(|(_, seen)| seen.status.can_assign())
            .collect();
        if contacts.is_empty() {
            return Ok(Err(if marked {
                "none of the marked contacts was waiting or active when marked"
            } else {
                "only a waiting or active contact can be assigned (reopen it first)"
            }
            .to_string()));
        }
        // Sources never change, and the contacts as they are now name who holds them.
        let mut sources = Vec::new();
        let mut held = Vec::new();
        let mut subject = String::new();
        let mut changed = 0;
        for (id, seen) in &contacts {
            let c = store.contact(*id)?;
            sources.push(c.source_id);
            if Seen::of(&c) != *seen {
                changed += 1;
            }
            if let (ContactStatus::Active, Some(op)) = (seen.status, &c.operator)
                && seen.operator_id == c.operator_id
            {
                held.push((*id, op.clone()));
            }
            if contacts.len() == 1 {
                subject = contact_subject(&c);
            }
        }
        sources.sort_unstable();
        sources.dedup();
        if contacts.len() > 1 {
            subject = format!("{} marked contacts", contacts.len());
        }
        match held.as_slice() {
            [] => {}
            [(_, op)] if contacts.len() == 1 => subject.push_str(&format!(", now with {op}")),
            many => subject.push_str(&format!(", {} of them held by an operator", many.len())),
        }
        if changed > 0 && contacts.len() > 1 {
            // Shown now; the store skips them and says why.
            subject.push_str(&format!(
                ", {changed} changed since marked (will be skipped)"
            ));
        }
        let rows = pick_rows(store, &sources, contacts.len())?;
        if rows.is_empty() {
            return Ok(Err(
                "there are no operators: add one on the Operators tab".to_string()
            ));
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.operator_id).collect();
        let mut sel = Selection::default();
        sel.set(0, &ids);
        Ok(Ok(AssignPicker {
            contacts,
            held,
            sources,
            subject,
            rows,
            sel,
        }))
    }

    /// Reads the operators again (loads and activity change under the picker).
    pub fn refresh(&mut self, store: &mut Store) -> Result<(), StoreError> {
        self.rows = pick_rows(store, &self.sources, self.contacts.len())?;
        let ids: Vec<i64> = self.rows.iter().map(|r| r.operator_id).collect();
        self.sel.sync(&ids);
        Ok(())
    }

    /// One key.
    pub fn handle(&mut self, action: &Action) -> AssignStep {
        let picker = self;
        let ids: Vec<i64> = picker.rows.iter().map(|r| r.operator_id).collect();
        match action {
            Action::Command(Command::Back) => return AssignStep::Cancel,
            Action::Command(Command::Confirm) => {
                let Some(row) = picker.rows.get(picker.sel.cursor).cloned() else {
                    return AssignStep::Stay;
                };
                let force = row.why.needs_force();
                // Contacts the chosen operator holds already are left alone.
                let moving: Vec<&(i64, String)> = picker
                    .held
                    .iter()
                    .filter(|(_, op)| *op != row.name)
                    .collect();
                if !force && moving.is_empty() {
                    return AssignStep::Assign(Pending::Assign {
                        contacts: picker.contacts.clone(),
                        operator_id: row.operator_id,
                        operator: row.name,
                        force: false,
                    });
                }
                let what = match picker.contacts.len() {
                    1 => picker.subject.clone(),
                    n => format!("{n} marked contacts"),
                };
                let mut lines = vec![format!("Assign {what} to {}?", row.name)];
                match moving.as_slice() {
                    [] => {}
                    [(id, op)] => lines.push(format!(
                        "This is a reassignment: #{id} is with {op} now and moves to {}.",
                        row.name
                    )),
                    many => lines.push(format!(
                        "This reassigns {} contacts that other operators hold now.",
                        many.len()
                    )),
                }
                if force {
                    lines.push(format!(
                        "'{}' is {} (load {}/{}).",
                        row.name,
                        row.why.label(),
                        row.load,
                        row.max_load
                    ));
                    lines.push("Routing would not pick it; this uses force.".into());
                }
                return AssignStep::Ask(Confirm {
                    title: if moving.is_empty() {
                        "Assign anyway?".into()
                    } else {
                        "Reassign?".into()
                    },
                    lines,
                    yes: if moving.is_empty() {
                        "assign"
                    } else {
                        "reassign"
                    }
                    .into(),
                    pending: Pending::Assign {
                        contacts: picker.contacts.clone(),
                        operator_id: row.operator_id,
                        operator: row.name,
                        force,
                    },
                });
            }
            Action::Command(cmd) => {
                picker.sel.navigate(*cmd, 10, &ids);
            }
            _ => {}
        }
        AssignStep::Stay
    }

    pub fn hints(&self, km: &Keymap) -> Hints<'static> {
        vec![
            (key_label(km, Context::Dialog, Command::Confirm), "assign"),
            (key_label(km, Context::Navigation, Command::Back), "cancel"),
        ]
    }
}

/// Every operator for contacts of `sources`: those routing could pick first (the
/// heaviest weight first), then the rest with every reason they are not eligible.
/// `n` contacts need `n` free slots.
pub fn pick_rows(store: &mut Store, sources: &[i64], n: usize) -> Result<Vec<PickRow>, StoreError> {
    let operators = store.operators()?;
    let weights = store.weights()?;
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    let mut rows: Vec<PickRow> = operators
        .iter()
        .map(|op| {
            let weight = sources
                .iter()
                .map(|sid| {
                    weights
                        .iter()
                        .find(|w| w.operator_id == op.id && w.source_id == *sid)
                        .map_or(0, |w| w.weight)
                })
                .min()
                .unwrap_or(0);
            let why = Candidate {
                operator_id: op.id,
                active: op.active,
                weight,
                load: op.load,
                max_load: op.max_load,
            }
            .why_not(n);
            PickRow {
                operator_id: op.id,
                name: op.name.clone(),
                weight,
                load: op.load,
                max_load: op.max_load,
                why,
            }
        })
        .collect();
    // Eligible first (heaviest weight first), then no weight (a hand assignment
    // without force), then those that need force, by name.
    rows.sort_by(|a, b| {
        let rank = |r: &PickRow| {
            (
                r.why.has(|x| matches!(x, Ineligible::Inactive)),
                r.why.has(|x| matches!(x, Ineligible::Full { .. })),
                !r.why.is_empty(),
            )
        };
        rank(a)
            .cmp(&rank(b))
            .then(b.weight.cmp(&a.weight))
            .then(a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok(rows)
}

/// A contact's one-line description, for dialog titles.
pub fn contact_subject(c: &Contact) -> String {
    format!("contact #{} from {} ({})", c.id, c.lead, c.source)
}
