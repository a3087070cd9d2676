//! Dialogs over the tabs: forms, yes/no questions, the operator picker, the feed's
//! filter picker, the lead card and the audit log. One module per dialog: its data,
//! its keys (`handle(&mut self, ..)` returning what happened) and its footer hints.
//! A dialog takes every key until it is confirmed or closed; the App carries out what
//! it returns.

pub mod assign;
pub mod audit;
pub mod confirm;
pub mod filter;
pub mod form;
pub mod help;
pub mod lead;

use assign::AssignPicker;
use audit::AuditView;
use confirm::Confirm;
use filter::FilterPicker;
use form::{FieldKind, Form};
use lead::LeadCard;

use crate::tui::keymap::Keymap;
use crate::tui::model::Hints;

#[derive(Debug)]
pub enum Dialog {
    Form(Form),
    Confirm(Confirm),
    Assign(AssignPicker),
    FeedFilter(FilterPicker),
    Lead(LeadCard),
    Audit(AuditView),
}

impl Dialog {
    /// Whether typed characters go into a text field rather than to key bindings.
    pub fn takes_text(&self) -> bool {
        match self {
            Dialog::Form(f) => matches!(
                f.fields.get(f.focus).map(|x| &x.kind),
                Some(FieldKind::Text { .. } | FieldKind::Number { .. })
            ),
            Dialog::Audit(a) => a.filter.editing,
            _ => false,
        }
    }

    /// The footer while this dialog is open.
    pub fn hints(&self, km: &Keymap) -> Hints<'_> {
        match self {
            Dialog::Form(d) => d.hints(km),
            Dialog::Confirm(d) => d.hints(km),
            Dialog::Assign(d) => d.hints(km),
            Dialog::FeedFilter(d) => d.hints(km),
            Dialog::Lead(d) => d.hints(km),
            Dialog::Audit(d) => d.hints(km),
        }
    }
}
