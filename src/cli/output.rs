//! How the commands print: JSON, local times, lists streamed page by page, contact
//! tables.

use serde::Serialize;

use super::table::{Align, Table, pad, preview};
use super::*;
use crate::domain::{ContactStatus, Strategy, escape_control};
use crate::store::{Contact, StoreError};

pub(super) fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(value).map_err(|e| CliError::Io(e.to_string()))?;
    println!("{s}");
    Ok(())
}

pub(super) fn local_time(ms: i64) -> String {
    use chrono::{Local, TimeZone};
    Local
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

pub(super) fn parse_strategy(s: &str) -> Result<Strategy, CliError> {
    Ok(s.parse::<Strategy>().map_err(StoreError::from)?)
}

/// The lead listing's text for one page of leads.
pub(super) fn print_leads(leads: &[crate::store::LeadWithContacts]) {
    for l in leads {
        let ids: Vec<String> = [
            l.lead
                .external_id
                .as_ref()
                .map(|x| format!("external_id {}", escape_control(x))),
            l.lead
                .phone
                .as_ref()
                .map(|x| format!("phone {}", escape_control(x))),
            l.lead
                .email
                .as_ref()
                .map(|x| format!("email {}", escape_control(x))),
        ]
        .into_iter()
        .flatten()
        .collect();
        println!(
            "lead #{} {} ({}), {} contact(s)",
            l.lead.id,
            escape_control(l.lead.name.as_deref().unwrap_or("(no name)")),
            ids.join(", "),
            l.contacts.len()
        );
        for c in &l.contacts {
            println!(
                "    #{:<6} {}  {} {:<8} {}",
                c.id,
                local_time(c.created_at),
                pad(&c.source, 14),
                c.status.as_str(),
                escape_control(c.operator.as_deref().unwrap_or("—"))
            );
        }
    }
}

/// Rows per read of a long listing: the listing streams in flat memory.
const PAGE: usize = 500;

/// Prints a JSON array element by element, exactly as `to_string_pretty` of the
/// whole array would, without holding it.
pub(super) struct JsonArray {
    first: bool,
}

impl JsonArray {
    pub(super) fn new() -> JsonArray {
        JsonArray { first: true }
    }

    pub(super) fn push<T: Serialize>(&mut self, value: &T) -> Result<(), CliError> {
        let s = serde_json::to_string_pretty(value).map_err(|e| CliError::Io(e.to_string()))?;
        let indented: Vec<String> = s.lines().map(|l| format!("  {l}")).collect();
        print!(
            "{}{}",
            if self.first { "[\n" } else { ",\n" },
            indented.join("\n")
        );
        self.first = false;
        Ok(())
    }

    pub(super) fn finish(self) {
        println!("{}", if self.first { "[]" } else { "\n]" });
    }
}

/// Reads a listing page by page (each call of `next_page` gets the rows after the
/// last one) and hands each page to `emit` with whether it is the only one; one page
/// is read ahead so a short listing knows it is short.
pub(super) fn stream_pages<T>(
    limit: usize,
    mut next_page: impl FnMut(Option<&T>, usize) -> Result<Vec<T>, CliError>,
    mut emit: impl FnMut(&[T], bool) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let mut left = limit;
    let mut page = next_page(None, left.min(PAGE))?;
    left -= page.len();
    let mut only = true;
    loop {
        let ahead = if left > 0 && !page.is_empty() {
            next_page(page.last(), left.min(PAGE))?
        } else {
            Vec::new()
        };
        left -= ahead.len();
        only &= ahead.is_empty();
        emit(&page, only)?;
        if ahead.is_empty() {
            return Ok(());
        }
        page = ahead;
    }
}

/// A page of the contact table: columns at least `min` wide, the header line only
/// when `header`.
pub(super) fn contacts_table(contacts: &[Contact], min: &[usize], header: bool) -> String {
    let mut t = Table::new(&[
        ("id", Align::Right),
        ("created", Align::Left),
        ("source", Align::Left),
        ("lead", Align::Left),
        ("operator", Align::Left),
        ("status", Align::Left),
        ("message", Align::Left),
    ]);
    for c in contacts {
        t.row(vec![
            c.id.to_string(),
            local_time(c.created_at),
            c.source.clone(),
            preview(&c.lead, 24),
            c.operator.clone().unwrap_or_else(|| "—".into()),
            c.status.to_string(),
            preview(&c.message, 40),
        ]);
    }
    t.with_min_widths(min).render_page(header)
}

pub(super) fn print_contact(json: bool, c: &Contact, verb: &str) -> Result<(), CliError> {
    if json {
        return print_json(c);
    }
    match &c.operator {
        Some(op) if c.status == ContactStatus::Active => {
            println!(
                "contact #{} {verb}: {} (operator {})",
                c.id,
                c.status,
                escape_control(op)
            )
        }
        _ => println!("contact #{} {verb}: {}", c.id, c.status),
    }
    Ok(())
}
