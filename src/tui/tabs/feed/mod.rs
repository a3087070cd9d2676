//! The Feed tab: the live list of contacts (`state.rs`: paging by keyset, newest or
//! oldest first, the selection as an id, marks, the "N new" count) and its commands:
//! filter, search, order, open the lead, assign, close, reopen, route the backlog.

pub mod state;

use state::FeedState;

use crate::domain::{ContactStatus, EntityRef};
use crate::store::{Outcome, Seen, StoreError};
use crate::tui::action::Command;
use crate::tui::effect::{Cx, Out, Report, Write};
use crate::tui::layout;
use crate::tui::model::Message;
use crate::tui::overlays::Dialog;
use crate::tui::overlays::assign::AssignPicker;
use crate::tui::overlays::confirm::{Confirm, Pending};
use crate::tui::overlays::filter::{FilterPicker, FilterStep};
use crate::tui::overlays::lead::LeadCard;

impl FeedState {
    /// Rows the feed shows at this terminal size.
    pub fn page(area: ratatui::layout::Rect) -> usize {
        layout::feed_page(area)
    }

    pub fn command(&mut self, cmd: Command, cx: &mut Cx<'_>) -> Result<Out, StoreError> {
        let page = Self::page(cx.area);
        let store = &mut *cx.store;
        match cmd {
            Command::Up => self.up(store, page)?,
            Command::Down => self.down(store, page)?,
            Command::PageUp => self.page_up(store, page)?,
            Command::PageDown => self.page_down(store, page)?,
            Command::First => self.first(store, page)?,
            Command::Last => self.last(store, page)?,
            Command::Mark => self.toggle_mark(store, page)?,
            Command::MarkAll => {
                let added = self.mark_all();
                return Ok(Out::info(format!(
                    "{added} marked; {} in all",
                    self.marks.len()
                )));
            }
            Command::ClearMarks => {
                return Ok(Out::info(match self.clear_marks() {
                    0 => "no marks to clear".to_string(),
                    n => format!("{n} mark(s) cleared"),
                }));
            }
            Command::Back if self.clear_filters() => {
                self.reload(store, page)?;
                return Ok(Out::info("filters and marks cleared"));
            }
            Command::WaitingOnly => {
                self.toggle_waiting();
                self.reload(store, page)?;
            }
            Command::Reverse => {
                self.reverse_order();
                self.reload(store, page)?;
                let waiting = self.filter.status == Some(ContactStatus::Waiting);
                return Ok(Out::info(match (self.oldest_first, waiting) {
                    (true, true) => "oldest first: the longest waiting on top",
                    (true, false) => "oldest first: new contacts arrive at the bottom",
                    (false, _) => "newest first",
                }));
            }
            Command::PickFilter => {
                return Ok(Out::open(Dialog::FeedFilter(FilterPicker::open(
                    store,
                    &self.filter,
                )?)));
            }
            Command::Open => {
                let Some(c) = self.selected().cloned() else {
                    return Ok(Out::nothing_selected("contact"));
                };
                return Ok(Out::open(Dialog::Lead(LeadCard::open(store, &c)?)));
            }
            Command::Assign => {
                let targets = match self.targets() {
                    Ok(t) => t,
                    Err(why) => return Ok(Out::error(why)),
                };
                let marked = !self.marks.is_empty();
                return Ok(match AssignPicker::open(store, targets, marked)? {
                    Ok(picker) => Out::open(Dialog::Assign(picker)),
                    Err(why) => Out::error(why),
                });
            }
            Command::Close => return Ok(self.close_or_reopen(true)),
            Command::Reopen => return Ok(self.close_or_reopen(false)),
            Command::Drain => return Ok(Out::write(drain())),
            _ => {}
        }
        Ok(Out::none())
    }

    /// The filter picker's choice.
    pub fn apply_filter(&mut self, step: FilterStep, cx: &mut Cx<'_>) -> Result<(), StoreError> {
        if let FilterStep::Apply {
            source,
            operator,
            status,
        } = step
        {
            self.filter.source_id = source.as_ref().map(|x| x.0);
            self.source_name = source.map(|x| x.1);
            self.filter.operator_id = operator.as_ref().map(|x| x.0);
            self.operator_name = operator.map(|x| x.1);
            self.filter.status = status;
            self.reset_position();
            self.reload(cx.store, Self::page(cx.area))?;
        }
        Ok(())
    }

    /// What an action on contacts applies to: the marked contacts with the state each
    /// had when marked, else the selected one as it shows now; else why there is
    /// nothing the supervisor picked.
    pub fn targets(&self) -> Result<Vec<(i64, Seen)>, String> {
        if !self.marks.is_empty() {
            return Ok(self.marks.iter().map(|(id, s)| (*id, *s)).collect());
        }
        if let Some(c) = self.selected() {
            return Ok(vec![(c.id, Seen::of(c))]);
        }
        Err(match self.selection_out_of_view() {
            Some(id) => {
                format!("contact #{id} is not in view any more; select a contact first (j/k)")
            }
            None => "no contact selected".to_string(),
        })
    }

    fn close_or_reopen(&self, close: bool) -> Out {
        let targets = match self.targets() {
            Ok(t) => t,
            Err(why) => return Out::error(why),
        };
        if close && targets.len() > 1 {
            // Several at once: said first, with what will change.
            let out_of_view = targets
                .iter()
                .filter(|(id, _)| !self.rows.iter().any(|c| c.id == *id))
                .count();
            let mut lines = vec![format!("Close {} marked contacts?", targets.len())];
            if out_of_view > 0 {
                lines.push(format!("{out_of_view} of them are out of view."));
            }
            lines.push(
                "Their operators get the slots back; a contact someone changed since you marked it is skipped."
                    .into(),
            );
            return Out::open(Dialog::Confirm(Confirm {
                title: "Close contacts".into(),
                lines,
                yes: "close".into(),
                pending: Pending::Close { contacts: targets },
            }));
        }
        let single = targets.len() == 1 && self.marks.is_empty();
        Out::write(close_or_reopen(close, single, targets))
    }
}

/// Closes or reopens `targets`, each only if it is still what the supervisor saw.
/// `single`: the selected contact, not marks.
pub fn close_or_reopen(close: bool, single: bool, targets: Vec<(i64, Seen)>) -> Write {
    let what = match targets.as_slice() {
        [(id, _)] => format!("contact #{id}"),
        many => format!("{} contacts", many.len()),
    };
    let verb = if close { "closing" } else { "reopening" };
    Write::new(format!("{verb} {what}"), move |store| {
        let outcomes = if close {
            store.close_contacts(&targets)
        } else {
            store.reopen_contacts(&targets)
        }?;
        let verb = if close { "closed" } else { "reopened" };
        let (done, skipped) = split_outcomes(&outcomes);
        let message = if single {
            match (done.first(), skipped.first()) {
                (Some(c), _) => {
                    // A reopened contact goes back to its operator only if there is room.
                    let outcome = match (close, c.status, &c.operator) {
                        (true, _, _) => String::new(),
                        (false, ContactStatus::Active, Some(op)) => format!(": active with {op}"),
                        (false, _, _) => ": waiting for an operator".to_string(),
                    };
                    Some(Message::info(format!("contact #{} {verb}{outcome}", c.id)))
                }
                (None, Some(why)) => Some(Message::error(why.clone())),
                (None, None) => None,
            }
        } else if skipped.is_empty() {
            Some(Message::info(format!("{} contacts {verb}", done.len())))
        } else {
            Some(Message::error(format!(
                "{} of {} {verb}; {}",
                done.len(),
                outcomes.len(),
                summarize_skips(&skipped)
            )))
        };
        Ok(Report {
            message,
            unmark: targets.iter().map(|(id, _)| *id).collect(),
            ..Report::default()
        })
    })
}

/// Assigns the contacts the supervisor picked, in one transaction; those that
/// changed since they were seen are skipped and reported with who holds them now.
pub fn assign(
    contacts: Vec<(i64, Seen)>,
    operator_id: i64,
    operator: String,
    force: bool,
) -> Write {
    let what = match contacts.as_slice() {
        [(id, _)] => format!("assigning contact #{id} to {operator}"),
        many => format!("assigning {} contacts to {operator}", many.len()),
    };
    Write::new(what, move |store| {
        let outcomes = match store.assign_contacts(&contacts, &EntityRef::Id(operator_id), force) {
            Ok(o) => o,
            // The operator filled up or went inactive since the picker showed it;
            // the marks stay for another try.
            Err(e @ StoreError::NeedsForce { .. }) => {
                return Ok(Report::error(format!(
                    "{e}: nothing assigned; press a again to see why"
                )));
            }
            Err(e) => return Err(e),
        };
        let (done, skipped) = split_outcomes(&outcomes);
        let message = match (contacts.as_slice(), done.first(), skipped.is_empty()) {
            ([(id, _)], Some(_), _) => {
                Message::info(format!("contact #{id} assigned to {operator}"))
            }
            (_, _, true) => {
                Message::info(format!("{} contacts assigned to {operator}", done.len()))
            }
            ([_], None, false) => Message::error(skipped[0].clone()),
            (_, _, false) => Message::error(format!(
                "{} of {} assigned to {operator}; {}",
                done.len(),
                outcomes.len(),
                summarize_skips(&skipped)
            )),
        };
        Ok(Report {
            message: Some(message),
            unmark: contacts.iter().map(|(id, _)| *id).collect(),
            ..Report::default()
        })
    })
}

/// Routes the waiting contacts; says why when none could go.
fn drain() -> Write {
    Write::new("routing the backlog", |store| {
        let n = store.drain_all()?;
        let waiting = store.waiting_count()?;
        Ok(Report::info(match (n, waiting) {
            (0, 0) => "nothing to route: no contact is waiting".to_string(),
            (0, w) => format!(
                "none of the {w} waiting contact(s) could be routed: no operator with a weight in their sources is active with room"
            ),
            (n, _) => format!("backlog routed: {n} waiting contact(s) assigned"),
        }))
    })
}

/// The contacts an action applied to, and a line for each it skipped.
fn split_outcomes(outcomes: &[Outcome]) -> (Vec<&crate::store::Contact>, Vec<String>) {
    let mut done = Vec::new();
    let mut skipped = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Done(c) => done.push(c),
            Outcome::Skipped { id, why } => skipped.push(why.describe(*id)),
        }
    }
    (done, skipped)
}

/// The first two skips in full, then how many more (the audit log has them all).
fn summarize_skips(skipped: &[String]) -> String {
    let mut text = skipped
        .iter()
        .take(2)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if skipped.len() > 2 {
        text.push_str(&format!("; {} more skipped", skipped.len() - 2));
    }
    text
}
