//! `operator`, `source`, `weight` and `token`: the roster and its access.

use super::args::{OperatorCmd, SourceCmd, TokenCmd, WeightCmd};
use super::table::{Align, Table, preview};
use super::*;
use crate::domain::{EntityRef, escape_control};
use crate::store::{OperatorPatch, SourcePatch, Store};

pub(super) fn operator(store: &mut Store, json: bool, cmd: OperatorCmd) -> Result<(), CliError> {
    let show = |op: &crate::store::Operator, verb: &str| -> Result<(), CliError> {
        if json {
            return print_json(op);
        }
        println!(
            "operator #{} '{}' {verb}: {}, load {}/{}",
            op.id,
            escape_control(&op.name),
            if op.active { "active" } else { "inactive" },
            op.load,
            op.max_load
        );
        Ok(())
    };
    match cmd {
        OperatorCmd::Add {
            name,
            max_load,
            inactive,
        } => show(&store.add_operator(&name, max_load, !inactive)?, "added"),
        OperatorCmd::Set {
            operator,
            max_load,
            active,
            rename,
        } => {
            if max_load.is_none() && active.is_none() && rename.is_none() {
                return Err(CliError::Usage(
                    "nothing to change: give --max-load, --active or --rename".into(),
                ));
            }
            let patch = OperatorPatch {
                name: rename,
                max_load,
                active,
            };
            show(
                &store.update_operator(&EntityRef::parse(&operator), &patch)?,
                "updated",
            )
        }
        OperatorCmd::Delete { operator } => show(
            &store.delete_operator(&EntityRef::parse(&operator))?,
            "deleted",
        ),
        OperatorCmd::List => {
            let ops = store.operators()?;
            if json {
                return print_json(&ops);
            }
            let mut t = Table::new(&[
                ("id", Align::Right),
                ("name", Align::Left),
                ("active", Align::Left),
                ("load", Align::Right),
                ("max_load", Align::Right),
                ("sources", Align::Right),
                ("today", Align::Right),
            ]);
            for o in &ops {
                t.row(vec![
                    o.id.to_string(),
                    o.name.clone(),
                    if o.active { "yes" } else { "no" }.into(),
                    o.load.to_string(),
                    o.max_load.to_string(),
                    o.sources.to_string(),
                    o.assigned_today.to_string(),
                ]);
            }
            print!("{}", t.render());
            Ok(())
        }
    }
}

pub(super) fn source(store: &mut Store, json: bool, cmd: SourceCmd) -> Result<(), CliError> {
    let show = |s: &crate::store::Source, verb: &str| -> Result<(), CliError> {
        if json {
            return print_json(s);
        }
        println!(
            "source #{} '{}' {verb} ({})",
            s.id,
            escape_control(&s.name),
            s.strategy
        );
        Ok(())
    };
    match cmd {
        SourceCmd::Add {
            name,
            description,
            strategy,
        } => {
            let strategy = parse_strategy(&strategy)?;
            show(&store.add_source(&name, &description, strategy)?, "added")
        }
        SourceCmd::Set {
            source,
            description,
            strategy,
            rename,
        } => {
            if description.is_none() && strategy.is_none() && rename.is_none() {
                return Err(CliError::Usage(
                    "nothing to change: give --description, --strategy or --rename".into(),
                ));
            }
            let patch = SourcePatch {
                name: rename,
                description,
                strategy: strategy.as_deref().map(parse_strategy).transpose()?,
                code: None,
            };
            show(
                &store.update_source(&EntityRef::parse(&source), &patch)?,
                "updated",
            )
        }
        SourceCmd::Delete { source } => {
            show(&store.delete_source(&EntityRef::parse(&source))?, "deleted")
        }
        SourceCmd::List => {
            let sources = store.sources()?;
            if json {
                return print_json(&sources);
            }
            let mut t = Table::new(&[
                ("id", Align::Right),
                ("name", Align::Left),
                ("strategy", Align::Left),
                ("waiting", Align::Right),
                ("today", Align::Right),
                ("total", Align::Right),
                ("description", Align::Left),
            ]);
            for s in &sources {
                t.row(vec![
                    s.id.to_string(),
                    s.name.clone(),
                    s.strategy.to_string(),
                    s.waiting.to_string(),
                    s.today.to_string(),
                    s.total.to_string(),
                    preview(&s.description, 40),
                ]);
            }
            print!("{}", t.render());
            Ok(())
        }
    }
}

pub(super) fn weight(store: &mut Store, json: bool, cmd: WeightCmd) -> Result<(), CliError> {
    match cmd {
        WeightCmd::Set {
            operator,
            source,
            weight,
        } => {
            let w = store.set_weight(
                &EntityRef::parse(&operator),
                &EntityRef::parse(&source),
                weight,
            )?;
            if json {
                print_json(&w)?;
            } else {
                println!(
                    "weight {} x {} = {}",
                    escape_control(&w.operator),
                    escape_control(&w.source),
                    w.weight
                );
            }
        }
        WeightCmd::List => {
            let ws = store.weights()?;
            if json {
                return print_json(&ws);
            }
            let mut t = Table::new(&[
                ("source", Align::Left),
                ("operator", Align::Left),
                ("weight", Align::Right),
            ]);
            for w in &ws {
                t.row(vec![
                    w.source.clone(),
                    w.operator.clone(),
                    w.weight.to_string(),
                ]);
            }
            print!("{}", t.render());
        }
    }
    Ok(())
}

pub(super) fn token(store: &mut Store, json: bool, cmd: TokenCmd) -> Result<(), CliError> {
    match cmd {
        TokenCmd::Add { name, role } => {
            let secret = store.add_token(&name, role)?;
            // The name as stored (trimmed), read back through the secret just made.
            let token = store.authenticate(&secret)?.ok_or_else(|| {
                CliError::Io("the new token cannot be found by its secret".into())
            })?;
            if json {
                print_json(&serde_json::json!({
                    "name": token.name,
                    "role": token.role,
                    "token": secret,
                }))?;
            } else {
                // The secret alone on stdout, so `$(switchboard token add ...)` is it.
                println!("{secret}");
            }
            eprintln!(
                "token '{}' ({}) added; its secret is shown this once only: switchboard stores just its SHA-256 hash",
                escape_control(&token.name),
                token.role
            );
        }
        TokenCmd::List => {
            let tokens = store.list_tokens()?;
            if json {
                return print_json(&tokens);
            }
            let mut t = Table::new(&[
                ("name", Align::Left),
                ("role", Align::Left),
                ("created", Align::Left),
                ("created_by", Align::Left),
                ("last_used", Align::Left),
            ]);
            for tk in &tokens {
                t.row(vec![
                    tk.name.clone(),
                    tk.role.to_string(),
                    local_time(tk.created_at),
                    tk.created_by.clone(),
                    tk.last_used_at.map_or_else(|| "—".into(), local_time),
                ]);
            }
            print!("{}", t.render());
        }
        TokenCmd::Revoke { name } => {
            store.revoke_token(&name)?;
            let name = name.trim();
            if json {
                print_json(&serde_json::json!({"name": name, "revoked": true}))?;
            } else {
                println!("token '{}' revoked", escape_control(name));
            }
        }
    }
    Ok(())
}
