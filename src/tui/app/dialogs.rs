//! The open dialog gets every key; what it returns is carried out here: a form's
//! save, a confirmed change, an assignment, a feed filter.

use super::{App, cx};
use crate::store::StoreError;
use crate::tui::action::Action;
use crate::tui::effect::{Report, Write};
use crate::tui::layout;
use crate::tui::model::Message;
use crate::tui::overlays::Dialog;
use crate::tui::overlays::assign::AssignStep;
use crate::tui::overlays::confirm::{ConfirmStep, Pending};
use crate::tui::overlays::filter::FilterStep;
use crate::tui::overlays::form::{FormStep, Submission};
use crate::tui::tabs::{feed, operators, sources};

impl App {
    pub(super) fn dialog_action(&mut self, action: Action) -> Result<(), StoreError> {
        let Some(dialog) = self.dialog.as_mut() else {
            return Ok(());
        };
        match dialog {
            Dialog::Form(form) => match form.handle(&action) {
                FormStep::Stay => {}
                FormStep::Cancel => self.dialog = None,
                FormStep::Submit => return self.submit_form(),
            },
            Dialog::Confirm(confirm) => match confirm.handle(&action) {
                ConfirmStep::Stay => {}
                ConfirmStep::Cancel => {
                    self.dialog = None;
                    self.info("cancelled; nothing changed");
                }
                ConfirmStep::Yes(pending) => {
                    self.dialog = None;
                    return self.carry_out(pending);
                }
            },
            Dialog::Assign(picker) => match picker.handle(&action) {
                AssignStep::Stay => {}
                AssignStep::Cancel => self.dialog = None,
                AssignStep::Assign(pending) => {
                    self.dialog = None;
                    return self.carry_out(pending);
                }
                AssignStep::Ask(confirm) => self.dialog = Some(Dialog::Confirm(confirm)),
            },
            Dialog::FeedFilter(picker) => match picker.handle(&action) {
                FilterStep::Stay => {}
                FilterStep::Cancel => self.dialog = None,
                step @ FilterStep::Apply { .. } => {
                    self.dialog = None;
                    let mut cx = cx!(self);
                    return self.feed.apply_filter(step, &mut cx);
                }
            },
            Dialog::Lead(card) => {
                if !card.handle(&action) {
                    self.dialog = None;
                }
            }
            Dialog::Audit(view) => {
                // A failed read leaves the view open, with the error below it.
                let page = layout::dialog_page(self.area);
                if !view.handle(&action, &mut self.store, page)? {
                    self.dialog = None;
                }
            }
        }
        Ok(())
    }

    /// Enter in a form: refused values keep it open with why; a save runs as a write
    /// that opens the form again if the store refuses it or another writer changed a
    /// field it edits (then it shows both values, and the next Enter saves over them).
    fn submit_form(&mut self) -> Result<(), StoreError> {
        let Some(Dialog::Form(form)) = &mut self.dialog else {
            return Ok(());
        };
        let submission = match form.submit(&mut self.store) {
            Ok(s) => s,
            Err(e) => {
                form.error = Some(e.to_string());
                self.error(e.to_string());
                return Ok(());
            }
        };
        match submission {
            Submission::Unchanged => {
                self.dialog = None;
                self.info("nothing changed; nothing saved");
                Ok(())
            }
            Submission::Simulate(plan) => {
                let (count, rate) = (plan.count, plan.rate.unwrap_or(0.0));
                if let Err(e) = self.spawn_simulator(plan, false) {
                    if let Some(Dialog::Form(form)) = &mut self.dialog {
                        form.error = Some(e.to_string());
                    }
                    self.error(e.to_string());
                    return Ok(());
                }
                self.dialog = None;
                self.info(format!(
                    "simulator started: {count} contact(s) at {rate}/s; press s again to stop"
                ));
                Ok(())
            }
            Submission::Write(what, job) => {
                let Some(Dialog::Form(mut form)) = self.dialog.take() else {
                    return Ok(());
                };
                self.write(Write::new(what, move |store| {
                    let (message, reopen) = match job(store) {
                        Ok(saved) => {
                            return Ok(Report {
                                message: Some(Message::info(saved.message)),
                                select: saved.select,
                                ..Report::default()
                            });
                        }
                        Err(StoreError::Stale { entity, changes }) => {
                            form.error = None;
                            form.expect_now(changes);
                            (
                                format!(
                                    "{entity} changed meanwhile: Enter saves yours over it, Esc keeps theirs"
                                ),
                                form,
                            )
                        }
                        Err(e) => {
                            form.error = Some(e.to_string());
                            (e.to_string(), form)
                        }
                    };
                    Ok(Report {
                        message: Some(Message::error(message)),
                        reopen: Some(Dialog::Form(reopen)),
                        ..Report::default()
                    })
                }))
            }
        }
    }

    /// A change the supervisor said yes to.
    fn carry_out(&mut self, pending: Pending) -> Result<(), StoreError> {
        match pending {
            Pending::DeleteOperator { id, name } => self.write(operators::delete(id, name)),
            Pending::DeleteSource { id, name } => self.write(sources::delete(id, name)),
            Pending::Assign {
                contacts,
                operator_id,
                operator,
                force,
            } => self.write(feed::assign(contacts, operator_id, operator, force)),
            Pending::Close { contacts } => self.write(feed::close_or_reopen(true, false, contacts)),
            Pending::Quit => {
                self.quit();
                Ok(())
            }
            Pending::StopSimulator => {
                if let Some(sim) = &self.sim {
                    sim.progress
                        .cancel
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    self.info("stopping the simulator…");
                }
                Ok(())
            }
        }
    }
}
