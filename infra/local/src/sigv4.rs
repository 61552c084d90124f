//! `AWS_IAM` routes, as API Gateway checks them: a Signature Version 4 signed request
//! (`Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`),
//! recomputed here with the local stack's fixed development credentials
//! ([`LOCAL_ACCESS_KEY_ID`], [`LOCAL_SECRET_ACCESS_KEY`]; development only), for the
//! service `execute-api`, within 15 minutes of the signing time. Unsigned or
//! mis-signed requests get API Gateway's 403 answers; a signed one reaches the
//! function with `requestContext.identity` filled as API Gateway fills it.

use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};

use crate::event::HttpCall;

pub const LOCAL_ACCESS_KEY_ID: &str = "AKIAPATGATELOCAL0001";
pub const LOCAL_SECRET_ACCESS_KEY: &str = "patgate-local-development-secret-key";
/// The IAM principal the local credentials stand for.
pub const LOCAL_USER_ARN: &str = "arn:aws:iam::123456789012:user/patgate-local-admin";
const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// Why API Gateway refuses a call to an `AWS_IAM` route (403, with its message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IamRefusal {
    /// No `Authorization` header at all.
    Missing,
    /// A header that is not a SigV4 signature.
    Malformed,
    UnknownKey,
    Expired,
    BadSignature,
}

impl IamRefusal {
    pub fn message(self) -> &'static str {
        match self {
            IamRefusal::Missing => "Missing Authentication Token",
            IamRefusal::Malformed => "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
            IamRefusal::UnknownKey => "The security token included in the request is invalid.",
            IamRefusal::Expired => "Signature expired: the request time is more than 15 minutes away from now.",
            IamRefusal::BadSignature => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        }
    }
}

fn header<'a>(call: &'a HttpCall<'_>, name: &str) -> Option<&'a str> {
    call.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// RFC 3986 encoding of everything but unreserved characters (and `/` when asked).
fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) || (keep_slash && byte == b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Checks the call's signature; `Ok` is the access key that signed it.
pub fn verify(call: &HttpCall<'_>, now: DateTime<Utc>) -> Result<&'static str, IamRefusal> {
    let authorization = header(call, "authorization").ok_or(IamRefusal::Missing)?;
    let rest = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or(IamRefusal::Malformed)?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=').ok_or(IamRefusal::Malformed)?;
        match name {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed_headers = Some(value),
            "Signature" => signature = Some(value),
            _ => return Err(IamRefusal::Malformed),
        }
    }
    let (credential, signed_headers, signature) = match (credential, signed_headers, signature) {
        (Some(c), Some(h), Some(s)) => (c, h, s),
        _ => return Err(IamRefusal::Malformed),
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(IamRefusal::Malformed);
    };
    if *key_id != LOCAL_ACCESS_KEY_ID {
        return Err(IamRefusal::UnknownKey);
    }
    if *service != "execute-api" {
        return Err(IamRefusal::BadSignature);
    }
    let amz_date = header(call, "x-amz-date").ok_or(IamRefusal::Malformed)?;
    let signed_at = NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| IamRefusal::Malformed)?
        .and_utc();
    if (now - signed_at).num_seconds().abs() > MAX_SKEW_SECONDS {
        return Err(IamRefusal::Expired);
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"host") {
        return Err(IamRefusal::BadSignature);
    }
    let mut canonical_headers = String::new();
    for name in &names {
        let values: Vec<String> = call
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return Err(IamRefusal::BadSignature);
        }
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let mut query: Vec<(String, String)> = call
        .raw_query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_decode_str(&s.replace('+', "%20"))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (encode(&decode(k), false), encode(&decode(v), false))
        })
        .collect();
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let body = call.body.as_deref().unwrap_or("");
    let canonical_request = format!(
        "{}\n{}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{}",
        call.method,
        encode(call.raw_path, true),
        hex(&Sha256::digest(body.as_bytes()))
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let key = [*date, *region, *service, "aws4_request"].iter().fold(
        format!("AWS4{LOCAL_SECRET_ACCESS_KEY}").into_bytes(),
        |key, part| hmac(&key, part),
    );
    if hex(&hmac(&key, &string_to_sign)) == signature {
        Ok(LOCAL_ACCESS_KEY_ID)
    } else {
        Err(IamRefusal::BadSignature)
    }
}
