//! GitHub's secret scanning public keys: fetched from the key URL
//! (`GITHUB_SECRET_SCANNING_KEYS_URL`, default GitHub's own endpoint) through the
//! build's one HTTP client stack, kept in the container, and fetched again only for a
//! key id the container does not know, at most once per [`KEY_REFETCH_INTERVAL`]:
//! whoever sends made-up key ids cannot make the function hammer the key URL.
//!
//! The document: `{"public_keys": [{"key_identifier", "key" (PEM SubjectPublicKeyInfo
//! of a P-256 key), "is_current"}]}`. Every listed key is accepted (a key GitHub no
//! longer marks current may still sign alerts in flight); a listed key that is not a
//! P-256 key is skipped.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use base64::Engine;
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// The shortest time between two fetches of the key document by one container.
pub const KEY_REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest key document read (GitHub's is about 1 KiB).
const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// DER of a P-256 SubjectPublicKeyInfo up to the uncompressed point: SEQUENCE,
/// AlgorithmIdentifier (id-ecPublicKey, prime256v1), BIT STRING header.
const P256_SPKI_HEADER: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// An uncompressed P-256 point: `0x04`, x, y.
const POINT_LEN: usize = 65;

/// A P-256 public key, as the uncompressed point ring verifies with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey(Vec<u8>);

impl VerifyingKey {
    /// The key in a PEM `PUBLIC KEY` block (SubjectPublicKeyInfo), P-256 only.
    pub fn from_pem(pem: &str) -> Option<Self> {
        let inner = pem
            .trim()
            .strip_prefix("-----BEGIN PUBLIC KEY-----")?
            .strip_suffix("-----END PUBLIC KEY-----")?;
        let text: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?;
        let point = der.strip_prefix(&P256_SPKI_HEADER[..])?;
        (point.len() == POINT_LEN && point[0] == 0x04).then(|| VerifyingKey(point.to_vec()))
    }

    pub fn point(&self) -> &[u8] {
        &self.0
    }
}

#[derive(Deserialize)]
struct KeyDocument {
    public_keys: Vec<ListedKey>,
}

#[derive(Deserialize)]
struct ListedKey {
    key_identifier: String,
    key: String,
}

/// The keys of a key document, by identifier.
pub fn parse_key_document(bytes: &[u8]) -> Result<HashMap<String, VerifyingKey>, String> {
    let document: KeyDocument = serde_json::from_slice(bytes)
        .map_err(|err| format!("the key document is not the expected JSON: {err}"))?;
    let mut keys = HashMap::new();
    for listed in document.public_keys {
        match VerifyingKey::from_pem(&listed.key) {
            Some(key) => {
                keys.insert(listed.key_identifier, key);
            }
            None => tracing::warn!(
                key_identifier = %listed.key_identifier.chars().take(80).collect::<String>(),
                "GitHub key document lists a key that is not a P-256 public key; skipped"
            ),
        }
    }
    Ok(keys)
}

/// Why no key was found for an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The deployment accepts no GitHub alerts (the key URL is empty).
    Disabled,
    /// Not in the key document (as last fetched).
    Unknown,
    /// The key document could not be fetched or read.
    Unavailable(String),
}

#[derive(Default)]
struct KeyState {
    keys: HashMap<String, VerifyingKey>,
    /// When the document was last asked for, and whether that failed.
    last_fetch: Option<(Instant, bool)>,
}

/// The container's copy of the key document, and the means to fetch it again.
pub struct GitHubKeys {
    url: Option<String>,
    refetch_interval: Duration,
    state: Mutex<KeyState>,
    connector: OnceLock<aws_smithy_http_client::Connector>,
}

impl std::fmt::Debug for GitHubKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubKeys")
            .field("url", &self.url)
            .field("refetch_interval", &self.refetch_interval)
            .finish_non_exhaustive()
    }
}

impl GitHubKeys {
    /// Keys from `url` (`None`: alerts refused, nothing fetched), fetched again for an
    /// unknown id at most once per `refetch_interval`. Nothing is fetched until the
    /// first alert needs a key.
    pub fn new(url: Option<String>, refetch_interval: Duration) -> Self {
        GitHubKeys {
            url,
            refetch_interval,
            state: Mutex::new(KeyState::default()),
            connector: OnceLock::new(),
        }
    }

    /// The key GitHub names `id`.
    pub async fn key(&self, id: &str) -> Result<VerifyingKey, KeyError> {
        let url = self.url.as_deref().ok_or(KeyError::Disabled)?;
        // One fetch at a time: concurrent alerts with a new id wait for the same one.
        let mut state = self.state.lock().await;
        if let Some(key) = state.keys.get(id) {
            return Ok(key.clone());
        }
        if let Some((at, failed)) = state.last_fetch {
            if at.elapsed() < self.refetch_interval {
                return Err(if failed {
                    KeyError::Unavailable("the last fetch of the key document failed".into())
                } else {
                    KeyError::Unknown
                });
            }
        }
        let fetched = self.fetch(url).await;
        state.last_fetch = Some((Instant::now(), fetched.is_err()));
        state.keys = fetched.map_err(KeyError::Unavailable)?;
        tracing::info!(
            keys = state.keys.len(),
            "GitHub secret scanning keys fetched"
        );
        state.keys.get(id).cloned().ok_or(KeyError::Unknown)
    }

    async fn fetch(&self, url: &str) -> Result<HashMap<String, VerifyingKey>, String> {
        let connector = self
            .connector
            .get_or_init(crate::sdk_config::https_connector);
        let request = http::Request::builder()
            .method("GET")
            .uri(url)
            .header("accept", "application/json")
            .header("user-agent", "patgate")
            .body(SdkBody::empty())
            .map_err(|err| format!("cannot build the key request: {err}"))?;
        let request = HttpRequest::try_from(request)
            .map_err(|err| format!("cannot build the key request: {err}"))?;
        let exchange = async {
            let response = connector
                .call(request)
                .await
                .map_err(|err| format!("fetching the key document failed: {err}"))?;
            let status = response.status().as_u16();
            if status != 200 {
                return Err(format!("the key URL answered {status}"));
            }
            ByteStream::new(response.into_body())
                .collect()
                .await
                .map(|bytes| bytes.into_bytes())
                .map_err(|err| format!("reading the key document failed: {err}"))
        };
        let bytes = tokio::time::timeout(FETCH_TIMEOUT, exchange)
            .await
            .map_err(|_| "fetching the key document timed out".to_owned())??;
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(format!(
                "the key document is larger than {MAX_DOCUMENT_BYTES} bytes"
            ));
        }
        parse_key_document(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's published example key (the documentation's sample).
    const SAMPLE_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9MJJHnMfn2+H4xL4YaPDA4RpJqUq\nkCmRCBnYERxZanmcpzQSXs1X/AljlKkbJ8qpVIW4clayyef9gWhFbNHWAA==\n-----END PUBLIC KEY-----";

    #[test]
    fn a_p256_pem_key_becomes_its_point_and_other_keys_are_refused() {
        let key = VerifyingKey::from_pem(SAMPLE_PEM).expect("P-256 SPKI");
        assert_eq!(key.point().len(), 65);
        assert_eq!(key.point()[0], 0x04);
        // Keys of other curves and algorithms (P-384, Ed25519), a truncated key, no PEM armour.
        let p384 = "-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEdu3yDcXfzF8EejqG37iVEN+AkXVt1L5w\nIJjQL0TSk5J72wPZf1KQ8MwuxkUicl6EFk4DKNIVzOwTIVn3YhWQsoRjLjZZsN1P\nIRpUMM6S6zujY0g9ipErD8lfDOfHbBE3\n-----END PUBLIC KEY-----";
        let ed25519 = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAOuC6x/ApKUv+1H/sMWnU44Es2Z3ntdOLU1Jy20j94u0=\n-----END PUBLIC KEY-----";
        assert_eq!(VerifyingKey::from_pem(p384), None);
        assert_eq!(VerifyingKey::from_pem(ed25519), None);
        let truncated = SAMPLE_PEM.replace("NHWAA==", "N");
        assert_eq!(VerifyingKey::from_pem(&truncated), None);
        assert_eq!(VerifyingKey::from_pem("MFkwEwYHKoZIzj0CAQYI"), None);
    }

    #[test]
    fn the_key_document_lists_keys_by_identifier_and_skips_bad_ones() {
        let document = serde_json::json!({"public_keys": [
            {"key_identifier": "good", "key": SAMPLE_PEM, "is_current": true},
            {"key_identifier": "bad", "key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "is_current": false}
        ]});
        let keys = parse_key_document(document.to_string().as_bytes()).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["good"]);
        assert!(parse_key_document(b"{\"keys\": []}").is_err());
        assert!(parse_key_document(b"<html>").is_err());
    }

    #[tokio::test]
    async fn without_a_key_url_nothing_is_fetched_and_every_id_is_refused() {
        let keys = GitHubKeys::new(None, KEY_REFETCH_INTERVAL);
        assert_eq!(keys.key("any").await, Err(KeyError::Disabled));
    }
}
