//! GitHub's side of secret scanning alerts, played locally: P-256 keys generated in the
//! test sign alert bodies as GitHub does, and a key server on 127.0.0.1 publishes them
//! in the document shape of GitHub's key endpoint, counting how often it is asked.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// DER of a P-256 SubjectPublicKeyInfo up to the point.
const P256_SPKI_HEADER: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// One of GitHub's signing keys, made up for the test.
pub struct GitHubSigner {
    pub id: String,
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl GitHubSigner {
    pub fn generate(id: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .expect("key generation");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .expect("key from PKCS#8");
        GitHubSigner {
            id: id.to_owned(),
            pair,
            rng,
        }
    }

    /// The public key as GitHub publishes it: PEM SubjectPublicKeyInfo.
    pub fn pem(&self) -> String {
        let mut der = P256_SPKI_HEADER.to_vec();
        der.extend_from_slice(self.pair.public_key().as_ref());
        let text = STANDARD.encode(der);
        let lines: Vec<&str> = text
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }

    /// `Github-Public-Key-Signature` for `body`: base64 of the DER ECDSA signature.
    pub fn sign(&self, body: &[u8]) -> String {
        STANDARD.encode(self.pair.sign(&self.rng, body).expect("signing").as_ref())
    }

    /// The headers GitHub sends with `body`.
    pub fn headers(&self, body: &[u8]) -> Vec<(String, String)> {
        vec![
            ("Github-Public-Key-Identifier".to_owned(), self.id.clone()),
            ("Github-Public-Key-Signature".to_owned(), self.sign(body)),
        ]
    }
}

/// GitHub's key document listing `keys`.
pub fn key_document(keys: &[&GitHubSigner]) -> Value {
    json!({"public_keys": keys.iter().enumerate().map(|(i, k)| json!({
        "key_identifier": k.id,
        "key": k.pem(),
        "is_current": i == 0,
    })).collect::<Vec<_>>()})
}

/// A key server on 127.0.0.1 answering every request with the current document (or a
/// chosen failure status), counting requests.
pub struct KeyServer {
    pub url: String,
    document: Arc<Mutex<Value>>,
    status: Arc<AtomicU16>,
    hits: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl KeyServer {
    pub async fn start(keys: &[&GitHubSigner]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind key server");
        let url = format!(
            "http://{}/meta/public_keys/secret_scanning",
            listener.local_addr().expect("address")
        );
        let document = Arc::new(Mutex::new(key_document(keys)));
        let status = Arc::new(AtomicU16::new(200));
        let hits = Arc::new(AtomicUsize::new(0));
        let (doc, code, count) = (document.clone(), status.clone(), hits.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (doc, code, count) = (doc.clone(), code.clone(), count.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    let status = code.load(Ordering::SeqCst);
                    let body = if status == 200 {
                        doc.lock().expect("document lock").to_string()
                    } else {
                        "{\"message\":\"unavailable\"}".to_owned()
                    };
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        KeyServer {
            url,
            document,
            status,
            hits,
            task,
        }
    }

    /// Publishes `keys` from now on (GitHub rotating its keys).
    pub fn publish(&self, keys: &[&GitHubSigner]) {
        *self.document.lock().expect("document lock") = key_document(keys);
    }

    /// Answers every request with `status` (200 again serves the document).
    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// How many times the document was asked for.
    pub fn fetches(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
