//! The lead card: a lead with all its contacts, opened from a contact in the feed.

use crate::store::{Contact, LeadWithContacts, Store, StoreError};
use crate::tui::action::{Action, Command};
use crate::tui::keymap::{Context, Keymap};
use crate::tui::model::{Hints, Selection, key_label};

#[derive(Debug, Clone)]
pub struct LeadCard {
    pub lead: LeadWithContacts,
    /// The contact the card was opened from.
    pub from_contact: i64,
    pub sel: Selection,
    /// The selected contact is open in full: every field, the whole message.
    pub contact_open: bool,
}

impl LeadCard {
    /// The card of `contact`'s lead, on that contact.
    pub fn open(store: &mut Store, contact: &Contact) -> Result<LeadCard, StoreError> {
        let lead = store.lead(contact.lead_id)?;
        let ids: Vec<i64> = lead.contacts.iter().map(|x| x.id).collect();
        let mut sel = Selection {
            id: Some(contact.id),
            ..Selection::default()
        };
        sel.sync(&ids);
        Ok(LeadCard {
            lead,
            from_contact: contact.id,
            sel,
            contact_open: false,
        })
    }

    /// The selected contact.
    pub fn selected(&self) -> Option<&Contact> {
        self.lead.contacts.get(self.sel.cursor)
    }

    /// One key; false when the card closes. Enter opens the selected contact in full,
    /// Esc goes back to the card, then closes it.
    pub fn handle(&mut self, action: &Action) -> bool {
        let ids: Vec<i64> = self.lead.contacts.iter().map(|c| c.id).collect();
        match action {
            Action::Command(Command::Confirm) => {
                self.contact_open = !self.contact_open;
                true
            }
            Action::Command(Command::Back) if self.contact_open => {
                self.contact_open = false;
                true
            }
            Action::Command(Command::Back) => false,
            Action::Command(cmd) => {
                self.sel.navigate(*cmd, 10, &ids);
                true
            }
            _ => true,
        }
    }

    pub fn hints(&self, km: &Keymap) -> Hints<'static> {
        let back = key_label(km, Context::Navigation, Command::Back);
        if self.contact_open {
            return vec![
                (
                    key_label(km, Context::Navigation, Command::Down),
                    "next contact",
                ),
                (back, "back to the lead"),
            ];
        }
        vec![
            (
                key_label(km, Context::Dialog, Command::Confirm),
                "whole contact",
            ),
            (back, "close"),
        ]
    }
}
