//! What every token API function builds once at cold start.

use crate::api::ResponseHeaders;
use crate::config::{ConfigError, Settings};
use crate::store::{connect, TokenStore};

/// Settings, the store and response headers, shared by the token API handlers.
#[derive(Debug, Clone)]
pub struct TokenService {
    pub settings: Settings,
    pub store: TokenStore,
    pub headers: ResponseHeaders,
}

impl TokenService {
    pub fn new(settings: Settings, store: TokenStore) -> Self {
        let headers = ResponseHeaders::new(settings.web_origin.clone());
        TokenService {
            settings,
            store,
            headers,
        }
    }

    /// Reads the settings from the environment and builds the DynamoDB client.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = Settings::from_env()?;
        let store = TokenStore::new(connect().await, settings.table_name.clone());
        Ok(TokenService::new(settings, store))
    }
}
