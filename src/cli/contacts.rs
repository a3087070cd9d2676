//! `contact`: add, list, assign, close, reopen, drain.

use super::args::ContactCmd;
use super::*;
use crate::domain::{ContactStatus, EntityRef, display_width, escape_control};
use crate::store::{Contact, Expect, FeedFilter, NewContact, Store, StoreError};

pub(super) fn contact(store: &mut Store, json: bool, cmd: ContactCmd) -> Result<(), CliError> {
    match cmd {
        ContactCmd::Add {
            source,
            external_id,
            phone,
            email,
            name,
            message,
            idempotency_key,
        } => {
            let intake = store.add_contact(&NewContact {
                source: Some(EntityRef::parse(&source)),
                external_id,
                phone,
                email,
                name,
                message,
                idempotency_key,
            })?;
            if json {
                print_json(&ingest::contact_json(&intake, None))?;
            } else if intake.duplicate {
                print_contact(
                    false,
                    &intake.contact,
                    "already exists (same idempotency key)",
                )?;
            } else {
                print_contact(false, &intake.contact, "added")?;
            }
        }
        ContactCmd::List {
            status,
            source,
            operator,
            limit,
        } => {
            let mut filter = FeedFilter {
                status: status
                    .as_deref()
                    .map(|s| s.parse::<ContactStatus>().map_err(StoreError::from))
                    .transpose()?,
                ..FeedFilter::default()
            };
            if let Some(s) = source {
                filter.source_id = Some(store.source(&EntityRef::parse(&s))?.id);
            }
            if let Some(o) = operator {
                filter.operator_id = Some(store.operator(&EntityRef::parse(&o))?.id);
            }
            // Columns of a listing longer than one page are as wide as any row can
            // need, so the pages line up: every source and operator name, the lead's
            // preview, the largest id (the first row).
            let widest = |names: Vec<String>| {
                names
                    .iter()
                    .map(|n| display_width(&escape_control(n)))
                    .max()
                    .unwrap_or(0)
            };
            let source_w = widest(store.sources()?.into_iter().map(|s| s.name).collect());
            let operator_w =
                widest(store.operators()?.into_iter().map(|o| o.name).collect()).max(1);
            let mut json_out = json.then(JsonArray::new);
            let mut first_id = None;
            let mut header = true;
            stream_pages(
                limit,
                |last: Option<&Contact>, n| Ok(store.contacts(&filter, last.map(|c| c.id), n)?),
                |page, only| {
                    if let Some(j) = &mut json_out {
                        return page.iter().try_for_each(|c| j.push(c));
                    }
                    let id_w = first_id
                        .get_or_insert_with(|| page.first().map_or(0, |c| c.id.to_string().len()));
                    let min = if only {
                        Vec::new()
                    } else {
                        vec![*id_w, 19, source_w, 24, operator_w, 7]
                    };
                    print!("{}", contacts_table(page, &min, header));
                    header = false;
                    Ok(())
                },
            )?;
            if let Some(j) = json_out {
                j.finish();
            }
        }
        ContactCmd::Assign {
            id,
            operator,
            force,
            reassign,
        } => {
            let expect = if reassign {
                Expect::Any
            } else {
                Expect::Waiting
            };
            let c = store
                .assign_contact(id, &EntityRef::parse(&operator), force, expect)
                .map_err(|e| match e {
                    e @ StoreError::NeedsForce { .. } => {
                        CliError::Usage(format!("{e} (use --force)"))
                    }
                    StoreError::AlreadyAssigned { contact, operator } if !reassign => CliError::Usage(
                        format!("contact #{contact} was already assigned to {operator} (use --reassign to move it)"),
                    ),
                    e => e.into(),
                })?;
            print_contact(json, &c, "assigned")?;
        }
        ContactCmd::Close { id } => print_contact(json, &store.close_contact(id)?, "closed")?,
        ContactCmd::Reopen { id } => print_contact(json, &store.reopen_contact(id)?, "reopened")?,
        ContactCmd::Drain => {
            let n = store.drain_all()?;
            if json {
                print_json(&serde_json::json!({"routed": n}))?;
            } else if n > 0 {
                println!("{n} waiting contact(s) routed");
            } else {
                match store.waiting_count()? {
                    0 => println!("0 routed: no contact is waiting"),
                    w => println!(
                        "0 routed: none of the {w} waiting contact(s) can be taken: no operator with a weight in their sources is active with room"
                    ),
                }
            }
        }
    }
    Ok(())
}
