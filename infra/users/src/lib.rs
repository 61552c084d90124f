//! `patgate-users`: feeds patgate's user records from the product's user directory.
//!
//! ```text
//! patgate-users put <user-id> --roles Viewer,User [--time-zone Europe/Paris] [--inactive]
//! patgate-users show <user-id>
//! patgate-users import <file.jsonl | ->   # one {"id","roles","timeZone"?,"active"?} per line
//! patgate-users revoke-all <user-id>        # offboarding: revokes every live token
//! patgate-users recount-inventory           # rebuilds the inventory's counters (repair)
//! patgate-users issue-credential scim|gitlab  # issues or rotates an integration credential
//! ```
//!
//! Every command calls the same use cases as the admin API and SCIM
//! ([`patgate::directory::Directory`]): a user write converges (its fan-out to the
//! user's tokens completes, or a retry of the same command completes it).
//!
//! It writes to the table named by `TABLE_NAME` with the usual AWS configuration
//! (`AWS_ENDPOINT_URL_DYNAMODB` points it at DynamoDB Local). `put` replaces the
//! roles, zone and active flag (with the principal item the authorizer reads, in one
//! transaction); tokens are untouched, and their permissions follow the new roles on
//! their next authorization. Deactivating (`--inactive`) refuses the user's tokens at
//! once; `revoke-all` also revokes them for good, reason `offboarded`.

use std::io::BufRead;

use patgate::directory::{Directory, UserWrite};
use patgate::expiry::parse_time_zone;
use patgate::store::{IntegrationKind, RevokeReason};
use patgate::user::{User, UserId};
use serde::Deserialize;

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Put(User),
    Show(UserId),
    Import(String),
    RevokeAll(UserId),
    RecountInventory,
    IssueCredential(IntegrationKind),
}

pub const USAGE: &str = "usage:
  patgate-users put <user-id> --roles Role[,Role...] [--time-zone Area/City] [--inactive]
  patgate-users show <user-id>
  patgate-users import <file.jsonl | ->   (lines of {\"id\",\"roles\",\"timeZone\"?,\"active\"?})
  patgate-users revoke-all <user-id>      (offboarding: revokes all of the user's live tokens)
  patgate-users recount-inventory         (rebuilds the inventory's counters from its indexes)
  patgate-users issue-credential scim|gitlab   (issues or rotates an integration credential)";

/// Parses the command line (without the program name).
pub fn parse_args(args: &[String]) -> Result<Command, String> {
    let (verb, rest) = args.split_first().ok_or("missing command")?;
    match verb.as_str() {
        "put" => {
            let (id, options) = rest.split_first().ok_or("put needs a user id")?;
            let mut user = User {
                id: user_id(id)?,
                roles: Vec::new(),
                time_zone: None,
                active: true,
            };
            let mut roles_given = false;
            let mut options = options.iter();
            while let Some(option) = options.next() {
                match option.as_str() {
                    "--roles" => {
                        let value = options.next().ok_or("--roles needs a value")?;
                        user.roles = value
                            .split(',')
                            .map(str::trim)
                            .filter(|r| !r.is_empty())
                            .map(String::from)
                            .collect();
                        roles_given = true;
                    }
                    "--time-zone" => {
                        let value = options.next().ok_or("--time-zone needs a value")?;
                        user.time_zone = Some(zone(value)?);
                    }
                    "--inactive" => user.active = false,
                    other => return Err(format!("unknown option {other}")),
                }
            }
            if !roles_given {
                return Err("put needs --roles (an empty list is `--roles ''`)".into());
            }
            Ok(Command::Put(user))
        }
        "show" => match rest {
            [id] => Ok(Command::Show(user_id(id)?)),
            _ => Err("show takes exactly one user id".into()),
        },
        "revoke-all" => match rest {
            [id] => Ok(Command::RevokeAll(user_id(id)?)),
            _ => Err("revoke-all takes exactly one user id".into()),
        },
        "recount-inventory" if rest.is_empty() => Ok(Command::RecountInventory),
        "issue-credential" => match rest {
            [kind] => IntegrationKind::parse(kind)
                .map(Command::IssueCredential)
                .ok_or_else(|| "issue-credential takes scim or gitlab".to_owned()),
            _ => Err("issue-credential takes scim or gitlab".into()),
        },
        "import" => match rest {
            [path] => Ok(Command::Import(path.clone())),
            _ => Err("import takes one file (or - for standard input)".into()),
        },
        other => Err(format!("unknown command {other}")),
    }
}

fn user_id(raw: &str) -> Result<UserId, String> {
    UserId::parse(raw)
        .ok_or_else(|| format!("`{raw}` is not a valid user id (1-128 visible characters, no #)"))
}

fn zone(raw: &str) -> Result<chrono_tz::Tz, String> {
    parse_time_zone(raw).ok_or_else(|| format!("`{raw}` is not an IANA time zone"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UserLine {
    id: String,
    roles: Vec<String>,
    time_zone: Option<String>,
    #[serde(default = "active_by_default")]
    active: bool,
}

fn active_by_default() -> bool {
    true
}

/// Reads JSON lines of users; every line is checked before anything is written.
pub fn parse_import(reader: impl BufRead) -> Result<Vec<User>, String> {
    let mut users = Vec::new();
    for (number, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", number + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let raw: UserLine =
            serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", number + 1))?;
        users.push(User {
            id: user_id(&raw.id).map_err(|e| format!("line {}: {e}", number + 1))?,
            roles: raw.roles,
            time_zone: raw
                .time_zone
                .as_deref()
                .map(zone)
                .transpose()
                .map_err(|e| format!("line {}: {e}", number + 1))?,
            active: raw.active,
        });
    }
    Ok(users)
}

/// Carries out a command; returns what to print.
pub async fn execute(directory: &Directory, command: Command) -> Result<String, String> {
    let store = directory.store();
    let now = chrono::Utc::now();
    match command {
        Command::Put(user) => {
            directory
                .put_user(&user.id, UserWrite::of(&user), now)
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!("saved {}", describe(&user)))
        }
        Command::RecountInventory => {
            let counted = store.recount_inventory().await.map_err(|e| e.to_string())?;
            Ok(format!("recounted the inventory: {counted} tokens"))
        }
        Command::IssueCredential(kind) => {
            let issued = directory
                .issue_credential(kind, "patgate-users", now)
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "{} credential (shown once; the previous one works until {}):\n{}",
                issued.kind, issued.previous_valid_until, issued.credential
            ))
        }
        Command::Show(id) => match store.get_user(&id).await.map_err(|e| e.to_string())? {
            Some(stored) => Ok(describe(&stored.user)),
            None => Err(format!("no user {id}")),
        },
        Command::RevokeAll(id) => {
            let revoked = store
                .revoke_all_tokens(&id, RevokeReason::Offboarded, chrono::Utc::now())
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!("revoked {revoked} tokens of {id}"))
        }
        Command::Import(path) => {
            let users = if path == "-" {
                parse_import(std::io::stdin().lock())?
            } else {
                let file = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
                parse_import(std::io::BufReader::new(file))?
            };
            for user in &users {
                directory
                    .put_user(&user.id, UserWrite::of(user), now)
                    .await
                    .map_err(|e| format!("{}: {e}", user.id))?;
            }
            Ok(format!("imported {} users", users.len()))
        }
    }
}

fn describe(user: &User) -> String {
    format!(
        "{} roles=[{}] time_zone={} active={}",
        user.id,
        user.roles.join(","),
        user.time_zone.map_or("-", |tz| tz.name()),
        user.active
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn put_parses_roles_zone_and_flag() {
        let Command::Put(user) = parse_args(&args(
            "put alice --roles Viewer,Manager --time-zone Asia/Kathmandu --inactive",
        ))
        .unwrap() else {
            panic!("put")
        };
        assert_eq!(user.id.as_str(), "alice");
        assert_eq!(user.roles, ["Viewer", "Manager"]);
        assert_eq!(user.time_zone, Some(chrono_tz::Asia::Kathmandu));
        assert!(!user.active);
    }

    #[test]
    fn revoke_all_names_one_user() {
        assert_eq!(
            parse_args(&args("revoke-all alice")).unwrap(),
            Command::RevokeAll(UserId::parse("alice").unwrap())
        );
    }

    #[test]
    fn bad_arguments_are_explained() {
        for line in [
            "",
            "put",
            "put alice",
            "put a#b --roles Viewer",
            "put alice --roles",
            "put alice --roles X --time-zone Nowhere",
            "show",
            "revoke-all",
            "revoke-all a b",
            "drop alice",
        ] {
            assert!(parse_args(&args(line)).is_err(), "{line}");
        }
    }

    #[test]
    fn import_checks_every_line() {
        let ok = "{\"id\":\"a\",\"roles\":[\"Viewer\"]}\n\n{\"id\":\"b\",\"roles\":[],\"timeZone\":\"UTC\",\"active\":false}\n";
        let users = parse_import(ok.as_bytes()).unwrap();
        assert_eq!(users.len(), 2);
        assert!(users[0].active && !users[1].active);
        let bad = "{\"id\":\"a\",\"roles\":[\"Viewer\"]}\n{\"id\":\"b\"}\n";
        assert!(parse_import(bad.as_bytes())
            .unwrap_err()
            .starts_with("line 2"));
    }
}
