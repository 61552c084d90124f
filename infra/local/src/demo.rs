//! The demo users the local stack seeds: one active user per built-in role, plus a
//! deactivated one.

use chrono_tz::Tz;
use patgate::directory::{Directory, UserWrite};
use patgate::user::{User, UserId};

/// A demo user the local stack seeds.
pub struct DemoUser {
    pub id: &'static str,
    pub roles: &'static [&'static str],
    pub time_zone: Option<Tz>,
    pub active: bool,
}

pub fn demo_users() -> Vec<DemoUser> {
    vec![
        DemoUser {
            id: "demo-viewer",
            roles: &["Viewer"],
            time_zone: None,
            active: true,
        },
        DemoUser {
            id: "demo-user",
            roles: &["User"],
            time_zone: Some(chrono_tz::Europe::Paris),
            active: true,
        },
        DemoUser {
            id: "demo-manager",
            roles: &["Manager"],
            time_zone: Some(chrono_tz::America::New_York),
            active: true,
        },
        DemoUser {
            id: "demo-admin",
            roles: &["Admin"],
            time_zone: Some(chrono_tz::Asia::Kathmandu),
            active: true,
        },
        DemoUser {
            id: "demo-inactive",
            roles: &["User"],
            time_zone: None,
            active: false,
        },
    ]
}

/// Creates or updates every demo user through the directory's user write.
pub async fn seed_users(directory: &Directory, users: &[DemoUser]) -> Result<(), String> {
    for demo in users {
        let id = UserId::parse(demo.id).ok_or_else(|| format!("bad demo user id {}", demo.id))?;
        let user = User {
            id,
            roles: demo.roles.iter().map(|r| (*r).to_owned()).collect(),
            time_zone: demo.time_zone,
            active: demo.active,
        };
        directory
            .put_user(&user.id, UserWrite::of(&user), chrono::Utc::now())
            .await
            .map_err(|e| format!("seeding {}: {e}", demo.id))?;
    }
    Ok(())
}
