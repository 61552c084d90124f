//! Settings read once at cold start from environment variables.
//!
//! Every variable any patgate function reads is listed in [`Settings::VARIABLES`];
//! template.yaml sets exactly these (a test keeps the two in step). The DynamoDB
//! endpoint override for DynamoDB Local is the SDK's own `AWS_ENDPOINT_URL_DYNAMODB`.

use std::time::Duration;

use crate::reminders::parse_lead_days;
use crate::token::TokenPrefix;

pub const TABLE_NAME: &str = "TABLE_NAME";
pub const TOKEN_PREFIX: &str = "TOKEN_PREFIX";
pub const MAX_TOKEN_LIFETIME_DAYS: &str = "MAX_TOKEN_LIFETIME_DAYS";
pub const MAX_TOKENS_PER_USER: &str = "MAX_TOKENS_PER_USER";
pub const LAST_USE_INTERVAL_SECONDS: &str = "LAST_USE_INTERVAL_SECONDS";
pub const EXPIRY_REMINDER_DAYS: &str = "EXPIRY_REMINDER_DAYS";
pub const EVENT_BUS_NAME: &str = "EVENT_BUS_NAME";
pub const WEB_ORIGIN: &str = "WEB_ORIGIN";
/// The permission configuration file (`crate::permissions`), read once at cold start.
pub const PATGATE_CONFIG_PATH: &str = "PATGATE_CONFIG_PATH";
/// Where the layer `PatgateConfigLayer` puts the permission configuration.
pub const DEFAULT_CONFIG_PATH: &str = "/opt/patgate/config.json";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub table_name: String,
    /// Prefix of every token this deployment issues, e.g. `pgt` in `pgt_…`.
    pub token_prefix: TokenPrefix,
    /// Furthest expiration date allowed, in calendar days after today (user's zone).
    pub max_token_lifetime_days: u32,
    /// Live (unexpired, unrevoked) tokens one user may hold.
    pub max_tokens_per_user: u32,
    /// The authorizer records a token's last use at most once per this interval.
    pub last_use_interval: Duration,
    /// Days before a token's last day on which a reminder goes out (plus the last day).
    pub expiry_reminder_days: Vec<u32>,
    /// The EventBridge bus lifecycle events and reminders go to.
    pub event_bus_name: String,
    /// The web UI origin allowed by CORS; `None` sends no CORS headers.
    pub web_origin: Option<String>,
    /// The permission configuration file.
    pub config_path: std::path::PathBuf,
}

impl Settings {
    /// Every environment variable [`Settings::from_env`] reads.
    pub const VARIABLES: [&'static str; 9] = [
        TABLE_NAME,
        TOKEN_PREFIX,
        MAX_TOKEN_LIFETIME_DAYS,
        MAX_TOKENS_PER_USER,
        LAST_USE_INTERVAL_SECONDS,
        EXPIRY_REMINDER_DAYS,
        EVENT_BUS_NAME,
        WEB_ORIGIN,
        PATGATE_CONFIG_PATH,
    ];

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from any name → value lookup (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let table_name = get(TABLE_NAME).ok_or(ConfigError::Missing(TABLE_NAME))?;
        let token_prefix = match get(TOKEN_PREFIX) {
            Some(raw) => TokenPrefix::new(&raw).map_err(|reason| ConfigError::Invalid {
                name: TOKEN_PREFIX,
                reason: reason.to_string(),
            })?,
            None => TokenPrefix::default(),
        };
        Ok(Settings {
            table_name,
            token_prefix,
            max_token_lifetime_days: number(
                get(MAX_TOKEN_LIFETIME_DAYS),
                MAX_TOKEN_LIFETIME_DAYS,
                366,
                1..=36_500,
            )?,
            max_tokens_per_user: number(
                get(MAX_TOKENS_PER_USER),
                MAX_TOKENS_PER_USER,
                50,
                1..=10_000,
            )?,
            last_use_interval: Duration::from_secs(number(
                get(LAST_USE_INTERVAL_SECONDS),
                LAST_USE_INTERVAL_SECONDS,
                300,
                0..=86_400,
            )?),
            // Set but empty: no lead times, only the last-day reminder.
            expiry_reminder_days: match lookup(EXPIRY_REMINDER_DAYS) {
                Some(raw) => parse_lead_days(&raw).map_err(|reason| ConfigError::Invalid {
                    name: EXPIRY_REMINDER_DAYS,
                    reason,
                })?,
                None => vec![7, 1],
            },
            event_bus_name: get(EVENT_BUS_NAME).unwrap_or_else(|| "default".to_owned()),
            web_origin: get(WEB_ORIGIN),
            config_path: get(PATGATE_CONFIG_PATH)
                .unwrap_or_else(|| DEFAULT_CONFIG_PATH.to_owned())
                .into(),
        })
    }
}

fn number<T>(
    raw: Option<String>,
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = raw else { return Ok(default) };
    let value: T = raw.parse().map_err(|_| ConfigError::Invalid {
        name,
        reason: format!("`{raw}` is not a whole number"),
    })?;
    if !range.contains(&value) {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("{value} is outside {}..={}", range.start(), range.end()),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_only_the_table_is_set() {
        let s = settings(&[(TABLE_NAME, "tokens")]).unwrap();
        assert_eq!(s.table_name, "tokens");
        assert_eq!(s.token_prefix.as_str(), "pgt");
        assert_eq!(s.max_token_lifetime_days, 366);
        assert_eq!(s.max_tokens_per_user, 50);
        assert_eq!(s.last_use_interval, Duration::from_secs(300));
        assert_eq!(s.expiry_reminder_days, vec![7, 1]);
        assert_eq!(s.event_bus_name, "default");
        assert_eq!(s.web_origin, None);
        assert_eq!(
            s.config_path,
            std::path::Path::new("/opt/patgate/config.json")
        );
        let elsewhere =
            settings(&[(TABLE_NAME, "t"), (PATGATE_CONFIG_PATH, "/tmp/p.json")]).unwrap();
        assert_eq!(elsewhere.config_path, std::path::Path::new("/tmp/p.json"));
    }

    #[test]
    fn table_name_is_required() {
        assert_eq!(settings(&[]).unwrap_err(), ConfigError::Missing(TABLE_NAME));
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let err = settings(&[(TABLE_NAME, "t"), (MAX_TOKENS_PER_USER, "many")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: MAX_TOKENS_PER_USER,
                ..
            }
        ));
        let err = settings(&[(TABLE_NAME, "t"), (EXPIRY_REMINDER_DAYS, "7,0")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: EXPIRY_REMINDER_DAYS,
                ..
            }
        ));
        let err = settings(&[(TABLE_NAME, "t"), (TOKEN_PREFIX, "Bad_Prefix")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: TOKEN_PREFIX,
                ..
            }
        ));
    }

    #[test]
    fn explicit_values_override_defaults() {
        let s = settings(&[
            (TABLE_NAME, "t"),
            (TOKEN_PREFIX, "acme"),
            (MAX_TOKENS_PER_USER, "3"),
            (EXPIRY_REMINDER_DAYS, "30, 7"),
            (WEB_ORIGIN, "https://portal.example.com"),
        ])
        .unwrap();
        assert_eq!(s.expiry_reminder_days, vec![30, 7]);
        let last_day_only = settings(&[(TABLE_NAME, "t"), (EXPIRY_REMINDER_DAYS, "")]).unwrap();
        assert!(last_day_only.expiry_reminder_days.is_empty());
        assert_eq!(s.token_prefix.as_str(), "acme");
        assert_eq!(s.max_tokens_per_user, 3);
        assert_eq!(s.web_origin.as_deref(), Some("https://portal.example.com"));
    }
}
