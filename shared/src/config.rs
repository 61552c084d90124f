//! Settings read once at cold start from environment variables.
//!
//! Every variable any patgate function reads is listed in [`Settings::VARIABLES`];
//! template.yaml sets exactly these (a test keeps the two in step). The DynamoDB
//! endpoint override for DynamoDB Local is the SDK's own `AWS_ENDPOINT_URL_DYNAMODB`.

use std::time::Duration;

use crate::reminders::parse_lead_days;
use crate::token::{AcceptedPrefixes, TokenFormatError, TokenPrefix, TokenSecret};

pub const TABLE_NAME: &str = "TABLE_NAME";
pub const TOKEN_PREFIX: &str = "TOKEN_PREFIX";
pub const MAX_TOKEN_LIFETIME_DAYS: &str = "MAX_TOKEN_LIFETIME_DAYS";
pub const MAX_TOKENS_PER_USER: &str = "MAX_TOKENS_PER_USER";
pub const LAST_USE_INTERVAL_SECONDS: &str = "LAST_USE_INTERVAL_SECONDS";
pub const EXPIRY_REMINDER_DAYS: &str = "EXPIRY_REMINDER_DAYS";
pub const EVENT_BUS_NAME: &str = "EVENT_BUS_NAME";
pub const WEB_ORIGIN: &str = "WEB_ORIGIN";
pub const METRIC_NAMESPACE: &str = "METRIC_NAMESPACE";
pub const METRIC_SERVICE: &str = "METRIC_SERVICE";
pub const EARLIER_TOKEN_PREFIXES: &str = "EARLIER_TOKEN_PREFIXES";
pub const GITHUB_SECRET_SCANNING_KEYS_URL: &str = "GITHUB_SECRET_SCANNING_KEYS_URL";
pub const SELF_ROTATE_MIN_INTERVAL_SECONDS: &str = "SELF_ROTATE_MIN_INTERVAL_SECONDS";

/// GitHub's published secret scanning public keys: the default key URL.
pub const GITHUB_KEYS_URL_DEFAULT: &str = "https://api.github.com/meta/public_keys/secret_scanning";
/// Most earlier prefixes a deployment may keep accepting.
pub const MAX_EARLIER_PREFIXES: usize = 5;
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
    /// Prefix of every token this deployment issues, whole, e.g. `pgt_` in `pgt_…`.
    pub token_prefix: TokenPrefix,
    /// Prefixes this deployment issued before, whose tokens keep working until they
    /// expire (`EARLIER_TOKEN_PREFIXES`, comma-separated).
    pub earlier_token_prefixes: Vec<TokenPrefix>,
    /// Where GitHub's secret scanning public keys are fetched from; `None` (the
    /// variable set but empty) refuses every GitHub alert without a fetch.
    pub github_keys_url: Option<String>,
    /// Furthest expiration date allowed, in calendar days after today (user's zone).
    pub max_token_lifetime_days: u32,
    /// Live (unexpired, unrevoked) tokens one user may hold.
    pub max_tokens_per_user: u32,
    /// The authorizer records a token's last use at most once per this interval.
    pub last_use_interval: Duration,
    /// A token may rotate itself (`POST /tokens/self/rotate`) only this long after its
    /// last rotation.
    pub self_rotate_min_interval: Duration,
    /// Days before a token's last day on which a reminder goes out (plus the last day).
    pub expiry_reminder_days: Vec<u32>,
    /// The EventBridge bus lifecycle events and reminders go to.
    pub event_bus_name: String,
    /// The web UI origin allowed by CORS; `None` sends no CORS headers.
    pub web_origin: Option<String>,
    /// CloudWatch namespace of the metrics.
    pub metric_namespace: String,
    /// Value of the metrics' `Service` dimension (the stack's, by default its name).
    pub metric_service: String,
    /// The permission configuration file.
    pub config_path: std::path::PathBuf,
}

impl Settings {
    /// Every environment variable [`Settings::from_env`] reads.
    pub const VARIABLES: [&'static str; 14] = [
        TABLE_NAME,
        TOKEN_PREFIX,
        EARLIER_TOKEN_PREFIXES,
        GITHUB_SECRET_SCANNING_KEYS_URL,
        MAX_TOKEN_LIFETIME_DAYS,
        MAX_TOKENS_PER_USER,
        LAST_USE_INTERVAL_SECONDS,
        SELF_ROTATE_MIN_INTERVAL_SECONDS,
        EXPIRY_REMINDER_DAYS,
        EVENT_BUS_NAME,
        WEB_ORIGIN,
        METRIC_NAMESPACE,
        METRIC_SERVICE,
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
        let earlier_token_prefixes =
            earlier_prefixes(get(EARLIER_TOKEN_PREFIXES).as_deref(), &token_prefix)?;
        let github_keys_url = match lookup(GITHUB_SECRET_SCANNING_KEYS_URL) {
            None => Some(GITHUB_KEYS_URL_DEFAULT.to_owned()),
            Some(raw) if raw.trim().is_empty() => None,
            Some(raw) => Some(key_url(raw.trim())?),
        };
        Ok(Settings {
            table_name,
            token_prefix,
            earlier_token_prefixes,
            github_keys_url,
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
            self_rotate_min_interval: Duration::from_secs(number(
                get(SELF_ROTATE_MIN_INTERVAL_SECONDS),
                SELF_ROTATE_MIN_INTERVAL_SECONDS,
                3600,
                60..=2_592_000,
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
            metric_namespace: get(METRIC_NAMESPACE)
                .unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.to_owned()),
            metric_service: get(METRIC_SERVICE)
                .unwrap_or_else(|| crate::metrics::DEFAULT_SERVICE.to_owned()),
            config_path: get(PATGATE_CONFIG_PATH)
                .unwrap_or_else(|| DEFAULT_CONFIG_PATH.to_owned())
                .into(),
        })
    }
}

impl Settings {
    /// The prefixes whose tokens this deployment accepts (built once, at cold start).
    pub fn accepted_prefixes(&self) -> AcceptedPrefixes {
        AcceptedPrefixes {
            current: self.token_prefix.clone(),
            earlier: self.earlier_token_prefixes.clone(),
        }
    }

    /// A presented string as a token of this deployment, under its prefix or an
    /// earlier accepted one. No I/O.
    pub fn parse_token(&self, presented: &str) -> Result<TokenSecret, TokenFormatError> {
        TokenSecret::parse_any(
            std::iter::once(&self.token_prefix).chain(&self.earlier_token_prefixes),
            presented,
        )
    }
}

/// `EARLIER_TOKEN_PREFIXES`: comma-separated prefixes, each valid, none the current
/// one, none twice, at most [`MAX_EARLIER_PREFIXES`].
fn earlier_prefixes(
    raw: Option<&str>,
    current: &TokenPrefix,
) -> Result<Vec<TokenPrefix>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: EARLIER_TOKEN_PREFIXES,
        reason,
    };
    let mut prefixes: Vec<TokenPrefix> = Vec::new();
    for part in raw.unwrap_or("").split(',').map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let prefix = TokenPrefix::new(part).map_err(|rule| invalid(format!("`{part}`: {rule}")))?;
        if &prefix == current {
            return Err(invalid(format!(
                "`{part}` is the current TOKEN_PREFIX, not an earlier one"
            )));
        }
        if prefixes.contains(&prefix) {
            return Err(invalid(format!("`{part}` is listed twice")));
        }
        prefixes.push(prefix);
    }
    if prefixes.len() > MAX_EARLIER_PREFIXES {
        return Err(invalid(format!(
            "at most {MAX_EARLIER_PREFIXES} earlier prefixes"
        )));
    }
    Ok(prefixes)
}

/// The GitHub key URL: `https://…`, or plain HTTP to this machine (tests, local stacks).
fn key_url(raw: &str) -> Result<String, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        name: GITHUB_SECRET_SCANNING_KEYS_URL,
        reason: reason.to_owned(),
    };
    let uri: http::Uri = raw.parse().map_err(|_| invalid("is not a URL"))?;
    let host = uri.host().ok_or_else(|| invalid("has no host"))?;
    let loopback = host == "localhost" || host == "127.0.0.1" || host == "[::1]";
    match uri.scheme_str() {
        Some("https") => Ok(raw.to_owned()),
        Some("http") if loopback => Ok(raw.to_owned()),
        _ => Err(invalid(
            "must be an https:// URL (plain http only to localhost)",
        )),
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
        assert_eq!(s.token_prefix.as_str(), "pgt_");
        assert!(s.earlier_token_prefixes.is_empty());
        assert_eq!(s.github_keys_url.as_deref(), Some(GITHUB_KEYS_URL_DEFAULT));
        assert_eq!(s.max_token_lifetime_days, 366);
        assert_eq!(s.max_tokens_per_user, 50);
        assert_eq!(s.last_use_interval, Duration::from_secs(300));
        assert_eq!(s.self_rotate_min_interval, Duration::from_secs(3600));
        assert_eq!(s.expiry_reminder_days, vec![7, 1]);
        assert_eq!(s.event_bus_name, "default");
        assert_eq!(s.web_origin, None);
        assert_eq!(s.metric_namespace, "patgate");
        assert_eq!(s.metric_service, "patgate");
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
            (TOKEN_PREFIX, "acme_"),
            (MAX_TOKENS_PER_USER, "3"),
            (EXPIRY_REMINDER_DAYS, "30, 7"),
            (WEB_ORIGIN, "https://portal.example.com"),
            (METRIC_NAMESPACE, "acme/tokens"),
            (METRIC_SERVICE, "tokens-prod"),
        ])
        .unwrap();
        assert_eq!(s.metric_namespace, "acme/tokens");
        assert_eq!(s.metric_service, "tokens-prod");
        assert_eq!(s.expiry_reminder_days, vec![30, 7]);
        let last_day_only = settings(&[(TABLE_NAME, "t"), (EXPIRY_REMINDER_DAYS, "")]).unwrap();
        assert!(last_day_only.expiry_reminder_days.is_empty());
        assert_eq!(s.token_prefix.as_str(), "acme_");
        assert_eq!(s.max_tokens_per_user, 3);
        assert_eq!(s.web_origin.as_deref(), Some("https://portal.example.com"));
    }

    #[test]
    fn the_prefix_is_whole_and_validated_at_cold_start() {
        // Before the prefix was whole, `pgt` meant `pgt_`: refused now, loudly.
        for bad in ["pgt", "Acme_", "acme-pgt_", "_pgt_"] {
            let err = settings(&[(TABLE_NAME, "t"), (TOKEN_PREFIX, bad)]).unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        name: TOKEN_PREFIX,
                        ..
                    }
                ),
                "{bad}: {err:?}"
            );
        }
        let s = settings(&[(TABLE_NAME, "t"), (TOKEN_PREFIX, "acme_pgt_")]).unwrap();
        assert_eq!(s.token_prefix.as_str(), "acme_pgt_");
    }

    #[test]
    fn earlier_prefixes_are_listed_checked_and_accepted() {
        let s = settings(&[
            (TABLE_NAME, "t"),
            (TOKEN_PREFIX, "acme_pgt_"),
            (EARLIER_TOKEN_PREFIXES, " pgt_ , old_"),
        ])
        .unwrap();
        let names: Vec<&str> = s
            .earlier_token_prefixes
            .iter()
            .map(TokenPrefix::as_str)
            .collect();
        assert_eq!(names, ["pgt_", "old_"]);
        let old = TokenSecret::generate(&TokenPrefix::default()).unwrap();
        assert_eq!(s.parse_token(old.expose()).unwrap(), old);
        for bad in ["pgt", "acme_pgt_", "pgt_,pgt_", "a_,b_,c_,d_,e_,f_"] {
            let err = settings(&[
                (TABLE_NAME, "t"),
                (TOKEN_PREFIX, "acme_pgt_"),
                (EARLIER_TOKEN_PREFIXES, bad),
            ])
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        name: EARLIER_TOKEN_PREFIXES,
                        ..
                    }
                ),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn the_github_key_url_is_https_or_local_and_empty_turns_alerts_off() {
        let url =
            |raw: &str| settings(&[(TABLE_NAME, "t"), (GITHUB_SECRET_SCANNING_KEYS_URL, raw)]);
        assert_eq!(url("").unwrap().github_keys_url, None);
        assert_eq!(
            url("https://keys.example.com/k")
                .unwrap()
                .github_keys_url
                .as_deref(),
            Some("https://keys.example.com/k")
        );
        assert!(url("http://127.0.0.1:8123/keys").is_ok());
        for bad in [
            "http://keys.example.com/k",
            "ftp://x/y",
            "not a url",
            "/keys",
        ] {
            assert!(
                matches!(
                    url(bad).unwrap_err(),
                    ConfigError::Invalid {
                        name: GITHUB_SECRET_SCANNING_KEYS_URL,
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }
}
