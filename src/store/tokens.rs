//! API tokens of the HTTP server: add, list, revoke, and finding a token by its
//! secret. Only the SHA-256 of a secret is stored; the secret is shown once, when the
//! token is added.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng;
use rand::rngs::SysRng;
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::models::Token;
use super::{Result, Store, StoreError, audit};
use crate::domain::{EntityRef, Role, validate_token_name};

/// What every secret starts with, so a leaked one is recognised (secret scanners,
/// logs) and never mistaken for a name.
pub const TOKEN_PREFIX: &str = "sb_";

/// Random bytes in a secret: 256 bits, 43 characters of URL-safe base64.
const SECRET_BYTES: usize = 32;

/// A new secret from the operating system's random source.
fn new_secret() -> Result<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    SysRng.try_fill_bytes(&mut bytes).map_err(|e| {
        StoreError::Io(format!(
            "cannot read random bytes from the operating system: {e}"
        ))
    })?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// What is stored of a secret. A secret has 256 random bits, so a plain (unsalted,
/// fast) hash is enough: there is nothing to guess.
fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

const TOKEN_COLUMNS: &str = "id, name, role, created_at, created_by, last_used_at";

fn token_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Token)> {
    let role: String = r.get(2)?;
    let role = role.parse::<Role>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok((
        r.get(0)?,
        Token {
            name: r.get(1)?,
            role,
            created_at: r.get(3)?,
            created_by: r.get(4)?,
            last_used_at: r.get(5)?,
        },
    ))
}

/// The token named `name` (without regard to ASCII case, as the column compares).
fn find(tx: &Transaction<'_>, name: &str) -> Result<Option<(i64, Token)>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_token WHERE name = ?1"
        ))?
        .query_row([name], token_from_row)
        .optional()?)
}

/// The audited fields: never the hash.
fn snapshot(t: &Token) -> serde_json::Value {
    json!({"name": t.name, "role": t.role})
}

impl Store {
    /// Adds a token named `name` with `role` and returns its secret, `sb_` and 43
    /// characters of URL-safe base64. Only the secret's SHA-256 is stored: the
    /// secret cannot be shown again. A name another token has, in any ASCII case, is
    /// refused ([`StoreError::NameTaken`], kind `token`).
    pub fn add_token(&mut self, name: &str, role: Role) -> Result<String> {
        let name = validate_token_name(name)?;
        let secret = new_secret()?;
        let hash = hash(&secret);
        self.write(|tx, ctx| {
            if find(tx, &name)?.is_some() {
                return Err(StoreError::NameTaken {
                    kind: "token",
                    name: name.clone(),
                });
            }
            tx.prepare_cached(
                "INSERT INTO api_token (name, role, hash, created_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![name, role.as_str(), hash, ctx.now, ctx.actor])?;
            let id = tx.last_insert_rowid();
            let token = Token {
                name: name.clone(),
                role,
                created_at: ctx.now,
                created_by: ctx.actor.to_string(),
                last_used_at: None,
            };
            audit::record(
                tx,
                ctx,
                "token.create",
                "token",
                Some(id),
                None,
                Some(snapshot(&token)),
            )?;
            Ok(())
        })?;
        Ok(secret)
    }

    /// Every token, by name.
    pub fn list_tokens(&mut self) -> Result<Vec<Token>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM api_token ORDER BY name, id"
            ))?;
            let rows = stmt.query_map([], token_from_row)?;
            Ok(rows
                .map(|r| r.map(|(_, t)| t))
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Deletes the token named `name` (any ASCII case): its secret stops working at
    /// once, and the name can be given again. An unknown name is
    /// [`StoreError::NotFound`].
    pub fn revoke_token(&mut self, name: &str) -> Result<()> {
        let name = name.trim();
        self.write(|tx, ctx| {
            let Some((id, token)) = find(tx, name)? else {
                return Err(StoreError::NotFound {
                    kind: "token",
                    key: EntityRef::Name(name.to_string()).to_string(),
                });
            };
            tx.prepare_cached("DELETE FROM api_token WHERE id = ?1")?
                .execute([id])?;
            audit::record(
                tx,
                ctx,
                "token.revoke",
                "token",
                Some(id),
                Some(snapshot(&token)),
                None,
            )?;
            Ok(())
        })
    }

    /// The token whose secret is `secret`, if any. A read: works on a read-only store.
    pub fn authenticate(&mut self, secret: &str) -> Result<Option<Token>> {
        let hash = hash(secret);
        self.read(|tx| {
            Ok(tx
                .prepare_cached(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_token WHERE hash = ?1"
                ))?
                .query_row([&hash[..]], token_from_row)
                .optional()?
                .map(|(_, t)| t))
        })
    }

    /// Whether any token exists.
    pub fn has_tokens(&mut self) -> Result<bool> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM api_token)")?
                .query_row([], |r| r.get(0))?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::OpenOptions;

    fn store(dir: &tempfile::TempDir) -> Store {
        let options = OpenOptions {
            actor: Some("sam".into()),
            ..OpenOptions::default()
        };
        Store::open(dir.path().join("t.db"), options).unwrap()
    }

    #[test]
    fn secrets_look_right_and_differ() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        for s in [&a, &b] {
            assert!(s.starts_with(TOKEN_PREFIX), "{s}");
            let body = &s[TOKEN_PREFIX.len()..];
            assert_eq!(body.len(), 43, "{s}");
            assert!(
                body.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{s}"
            );
            assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), SECRET_BYTES);
        }
    }

    /// The table holds the SHA-256 of the secret and nothing else of it.
    #[test]
    fn only_the_hash_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(&dir);
        let secret = s.add_token("form", Role::Intake).unwrap();
        let body = &secret[TOKEN_PREFIX.len()..];
        let raw = URL_SAFE_NO_PAD.decode(body).unwrap();
        let rows: Vec<Vec<u8>> = s
            .connection()
            .prepare(
                "SELECT CAST(name AS BLOB) FROM api_token UNION ALL SELECT hash FROM api_token
                 UNION ALL SELECT CAST(role AS BLOB) FROM api_token
                 UNION ALL SELECT CAST(created_by AS BLOB) FROM api_token
                 UNION ALL SELECT CAST(coalesce(before, '') || coalesce(after, '') AS BLOB) FROM audit",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        for row in &rows {
            for needle in [secret.as_bytes(), body.as_bytes(), &raw[..]] {
                assert!(!contains(row, needle), "a stored value holds the secret");
            }
        }
        let stored: Vec<u8> = s
            .connection()
            .query_row("SELECT hash FROM api_token", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, Sha256::digest(secret.as_bytes()).to_vec());
        // Nor does the file: the secret appears in no page of it or its WAL.
        drop(s);
        for suffix in ["", "-wal"] {
            let mut path = dir.path().join("t.db").into_os_string();
            path.push(suffix);
            if let Ok(bytes) = std::fs::read(&path) {
                assert!(!contains(&bytes, secret.as_bytes()), "{path:?}");
                assert!(!contains(&bytes, &raw), "{path:?}");
            }
        }
    }

    #[test]
    fn authenticate_finds_the_token_of_a_secret_until_it_is_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(&dir);
        s.set_clock(Some(1_700_000_000_000));
        assert!(!s.has_tokens().unwrap());
        let form = s.add_token(" form ", Role::Intake).unwrap();
        let wall = s.add_token("wall", Role::Viewer).unwrap();
        assert!(s.has_tokens().unwrap());
        let found = s.authenticate(&form).unwrap().expect("form's token");
        assert_eq!(
            found,
            Token {
                name: "form".into(),
                role: Role::Intake,
                created_at: 1_700_000_000_000,
                created_by: "sam".into(),
                last_used_at: None,
            }
        );
        assert_eq!(s.authenticate(&wall).unwrap().unwrap().role, Role::Viewer);
        // Wrong secrets: another string, a near miss, the prefix, nothing.
        let mut near = form.clone();
        let last = near.pop().unwrap();
        near.push(if last == 'A' { 'B' } else { 'A' });
        for wrong in [near.as_str(), TOKEN_PREFIX, "", &form[TOKEN_PREFIX.len()..]] {
            assert_eq!(s.authenticate(wrong).unwrap(), None, "{wrong:?}");
        }
        s.revoke_token("FORM").unwrap();
        assert_eq!(s.authenticate(&form).unwrap(), None);
        assert!(s.authenticate(&wall).unwrap().is_some());
        let names: Vec<String> = s
            .list_tokens()
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["wall"]);
        // A revoked name can be given again; the old secret stays dead.
        let again = s.add_token("form", Role::Supervisor).unwrap();
        assert_ne!(again, form);
        assert_eq!(s.authenticate(&form).unwrap(), None);
        assert_eq!(
            s.authenticate(&again).unwrap().unwrap().role,
            Role::Supervisor
        );
        // Revoked and added are audited, without the secret.
        let actions: Vec<String> = s
            .audit_log(Some("token"), None, 10)
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {} {}", e.actor, e.action, e.summary()))
            .collect();
        assert_eq!(
            actions,
            [
                "sam token.create name: — -> form, role: — -> supervisor",
                "sam token.revoke name: form -> —, role: intake -> —",
                "sam token.create name: — -> wall, role: — -> viewer",
                "sam token.create name: — -> form, role: — -> intake",
            ]
        );
    }

    #[test]
    fn names_are_unique_in_any_case() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(&dir);
        s.add_token("Form", Role::Intake).unwrap();
        for taken in ["Form", "form", " FORM "] {
            let e = s.add_token(taken, Role::Viewer).unwrap_err();
            assert!(
                matches!(&e, StoreError::NameTaken { kind: "token", name } if name == taken.trim()),
                "{e:?}"
            );
            assert_eq!(
                e.to_string(),
                format!("a token named '{}' already exists", taken.trim())
            );
        }
        let tokens = s.list_tokens().unwrap();
        assert_eq!(tokens.len(), 1);
        assert_eq!(
            (tokens[0].name.as_str(), tokens[0].role),
            ("Form", Role::Intake)
        );
        // Names sort without regard to case.
        s.add_token("alpha", Role::Viewer).unwrap();
        s.add_token("Zed", Role::Viewer).unwrap();
        let names: Vec<String> = s
            .list_tokens()
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["alpha", "Form", "Zed"]);
    }

    #[test]
    fn bad_names_and_unknown_tokens_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(&dir);
        for bad in ["", "   ", "a\u{1b}[2J", &"x".repeat(65)] {
            let e = s.add_token(bad, Role::Viewer).unwrap_err();
            assert!(matches!(e, StoreError::Invalid(_)), "{bad:?}: {e:?}");
        }
        assert!(!s.has_tokens().unwrap());
        let e = s.revoke_token("ghost").unwrap_err();
        assert!(
            matches!(&e, StoreError::NotFound { kind: "token", .. }),
            "{e:?}"
        );
        assert_eq!(e.to_string(), "token 'ghost' not found");
        let e = s.revoke_token("gh\u{1b}st").unwrap_err().to_string();
        assert_eq!(e, "token 'gh\\est' not found");
    }

    /// A read-only store finds tokens and cannot add or revoke them.
    #[test]
    fn a_read_only_store_authenticates() {
        let dir = tempfile::tempdir().unwrap();
        let secret = store(&dir).add_token("wall", Role::Viewer).unwrap();
        let options = OpenOptions {
            read_only: true,
            ..OpenOptions::default()
        };
        let mut ro = Store::open(dir.path().join("t.db"), options).unwrap();
        assert_eq!(ro.authenticate(&secret).unwrap().unwrap().name, "wall");
        assert!(ro.has_tokens().unwrap());
        assert!(matches!(
            ro.add_token("x", Role::Viewer),
            Err(StoreError::ReadOnly(_))
        ));
        assert!(matches!(
            ro.revoke_token("wall"),
            Err(StoreError::ReadOnly(_))
        ));
    }
}
