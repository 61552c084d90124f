//! A catalogue of bad inputs: request bodies, headers, path ids and query parameters
//! of every route, and the authorizer's header, each with the exact status and error
//! code it must get (and the field its message names). Nothing a bad input does may
//! change what is stored: the whole table is dumped before the first case and after
//! the last, and the two dumps must be equal; no case may send a single write to
//! DynamoDB either.
//!
//! Decisions this catalogue holds the API to (from `shared/src/api.rs`): bodies are
//! JSON objects of the route's fields only, each once (an unknown field is a 400 on
//! `body`, a duplicated one a 400 on that field); `null` is "absent" for optional
//! fields and "missing" for required ones; `Content-Type` is not consulted, the body
//! is read as JSON whatever it says; a path id that cannot be a token id is a 404, like
//! an unknown one; the leaked-credential report answers 202 to strings that are not
//! live tokens.

use std::collections::BTreeMap;

use authorizer::AuthorizerError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use lambda_http::{Body, Response};
use patgate::token::{TokenPrefix, TokenSecret};
use patgate::user::{User, UserId};
use patgate_tests::proxy::DynamoProxy;
use patgate_tests::*;
use serde_json::{json, Value};

use crate::Item;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Create,
    List,
    Revoke,
    Rotate,
    Report,
    Authorizer,
}

/// What a case must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 400 `invalid_field`, naming the field.
    Field(&'static str),
    /// 400 `invalid_json`.
    Json,
    /// 413 `payload_too_large`.
    TooLarge,
    /// 404 `not_found`.
    NotFound,
    /// Another error status and code.
    Error(u16, &'static str),
    /// A success without a body (202, 204): the input was acceptable and changed nothing.
    Empty(u16),
    /// The authorizer refuses (API Gateway's 401) for this reason, after this many
    /// DynamoDB requests (0: refused offline).
    Unauthorized(&'static str, usize),
}

struct Case {
    name: String,
    route: Route,
    event: Value,
    /// When the call happens, after the catalogue's start.
    later: Duration,
    expect: Expect,
}

/// What a call got.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    status: u16,
    code: String,
    field: String,
    message: String,
}

fn outcome_of(response: Response<Body>) -> Outcome {
    let status = response.status().as_u16();
    let body: Value = match response.body() {
        Body::Empty => Value::Null,
        _ => serde_json::from_str(&body_text(&response)).unwrap_or(Value::Null),
    };
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    Outcome {
        status,
        code: text(&body["error"]["code"]),
        field: text(&body["error"]["field"]),
        message: text(&body["error"]["message"]),
    }
}

/// Base64 (standard alphabet, padded), for binary bodies as API Gateway hands them on.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn with_header(mut event: Value, name: &str, value: &str) -> Value {
    event["headers"][name] = json!(value);
    if event["multiValueHeaders"].is_object() {
        event["multiValueHeaders"][name] = json!([value]);
    }
    event
}

/// `event` with the path parameter `id` as API Gateway passes it (decoded) and the
/// path as the caller sent it (percent-encoded) in `path` (`{}` marks the id).
fn with_id(mut event: Value, path: &str, id: &str) -> Value {
    let encoded: String = id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    event["pathParameters"]["id"] = json!(id);
    event["path"] = json!(path.replace("{}", &encoded));
    event["requestContext"]["path"] = json!(format!("/prod{}", path.replace("{}", &encoded)));
    event
}

fn binary(mut event: Value, bytes: &[u8]) -> Value {
    event["body"] = json!(base64(bytes));
    event["isBase64Encoded"] = json!(true);
    event
}

/// The catalogue's users and tokens, and the cases built around them.
struct Catalogue {
    now: DateTime<Utc>,
    /// A date 30 days ahead in UTC: a valid `expiresOn`.
    valid: String,
    alice: Caller,
    /// Alice's live token, her revoked one, Bob's live one.
    live: Issued,
    revoked: Issued,
    bobs: Issued,
    /// The live token of a user who was deactivated since.
    inactive: Issued,
    cases: Vec<Case>,
}

impl Catalogue {
    fn push(&mut self, name: impl Into<String>, route: Route, event: Value, expect: Expect) {
        self.push_at(name, route, event, Duration::zero(), expect);
    }

    fn push_at(
        &mut self,
        name: impl Into<String>,
        route: Route,
        event: Value,
        later: Duration,
        expect: Expect,
    ) {
        let name = name.into();
        assert!(
            self.cases.iter().all(|c| c.name != name),
            "two cases named {name}"
        );
        self.cases.push(Case {
            name,
            route,
            event,
            later,
            expect,
        });
    }

    fn create_event(&self, body: &str) -> Value {
        proxy_event("POST", "/tokens", "/tokens", Some(body), &self.alice)
    }

    fn create(&mut self, name: &str, body: &str, expect: Expect) {
        let event = self.create_event(body);
        self.push(format!("create: {name}"), Route::Create, event, expect);
    }

    /// A create body with the valid fields and `extra` spliced in (raw JSON text).
    fn create_with(&mut self, name: &str, extra: &str, expect: Expect) {
        let body = format!(r#"{{"name":"ok","expiresOn":"{}",{extra}}}"#, self.valid);
        self.create(name, &body, expect);
    }

    fn rotate_event(&self, id: &str, body: &str, caller: &Caller) -> Value {
        let event = proxy_event(
            "POST",
            "/tokens/{id}/rotate",
            "/tokens/x/rotate",
            Some(body),
            caller,
        );
        with_id(event, "/tokens/{}/rotate", id)
    }

    fn rotate(&mut self, name: &str, body: &str, expect: Expect) {
        let event = self.rotate_event(&self.live.id.clone(), body, &self.alice.clone());
        self.push(format!("rotate: {name}"), Route::Rotate, event, expect);
    }

    fn revoke(&mut self, name: &str, id: &str, expect: Expect) {
        let event = proxy_event("DELETE", "/tokens/{id}", "/tokens/x", None, &self.alice);
        let event = with_id(event, "/tokens/{}", id);
        self.push(format!("revoke: {name}"), Route::Revoke, event, expect);
    }

    fn report(&mut self, name: &str, body: &str, expect: Expect) {
        let event = proxy_event(
            "POST",
            "/credentials/revoke",
            "/credentials/revoke",
            Some(body),
            &Caller::Anonymous,
        );
        self.push(format!("report: {name}"), Route::Report, event, expect);
    }

    fn list(&mut self, name: &str, query: &[(&str, &str)], expect: Expect) {
        let event = proxy_event_with_query("GET", "/tokens", "/tokens", query, None, &self.alice);
        self.push(format!("list: {name}"), Route::List, event, expect);
    }

    fn authorize(&mut self, name: &str, header: Option<&str>, expect: Expect) {
        self.authorize_at(name, header, Duration::zero(), expect);
    }

    fn authorize_at(&mut self, name: &str, header: Option<&str>, later: Duration, expect: Expect) {
        let event = request_authorizer_event(header, &method_arn("GET", "/catalog"));
        self.push_at(
            format!("authorizer: {name}"),
            Route::Authorizer,
            event,
            later,
            expect,
        );
    }

    fn authorize_event(&mut self, name: &str, event: Value, expect: Expect) {
        self.push(
            format!("authorizer: {name}"),
            Route::Authorizer,
            event,
            expect,
        );
    }
}

fn create_cases(c: &mut Catalogue) {
    use Expect::*;
    let valid = c.valid.clone();
    let ok = format!(r#"{{"name":"ok","expiresOn":"{valid}"}}"#);

    // Not a JSON object.
    for (name, body) in [
        ("empty body", ""),
        ("whitespace body", "  \n\t "),
        ("null", "null"),
        ("array", "[]"),
        ("string", r#""name""#),
        ("number", "42"),
        ("boolean", "true"),
        ("object in an array", &format!("[{ok}]")),
        ("truncated", r#"{"name":"ok","expiresOn":"#),
        (
            "single quotes",
            &format!("{{'name':'ok','expiresOn':'{valid}'}}"),
        ),
        (
            "trailing comma",
            &format!(r#"{{"name":"ok","expiresOn":"{valid}",}}"#),
        ),
        (
            "comment",
            &format!(r#"{{"name":"ok" /* c */,"expiresOn":"{valid}"}}"#),
        ),
        ("NaN", &format!(r#"{{"name":NaN,"expiresOn":"{valid}"}}"#)),
        ("byte order mark", &format!("\u{feff}{ok}")),
        (
            "lone surrogate escape",
            &format!(r#"{{"name":"\ud800","expiresOn":"{valid}"}}"#),
        ),
        ("two objects", &format!("{ok}{ok}")),
        ("form encoding", &format!("name=ok&expiresOn={valid}")),
        ("deep array", &"[".repeat(5000)),
        (
            "200 levels in a field",
            &format!(
                r#"{{"name":"ok","expiresOn":"{valid}","description":{}1{}}}"#,
                "[".repeat(200),
                "]".repeat(200)
            ),
        ),
    ] {
        c.create(name, body, Json);
    }
    let mut invalid_utf8 = br#"{"name":"ok"#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe]);
    invalid_utf8.extend_from_slice(format!(r#"","expiresOn":"{valid}"}}"#).as_bytes());
    let event = binary(c.create_event(""), &invalid_utf8);
    c.push(
        "create: invalid UTF-8 in a value",
        Route::Create,
        event,
        Json,
    );
    let mut overlong = br#"{"name":"ok"#.to_vec();
    overlong.extend_from_slice(&[0xc0, 0xaf]);
    overlong.extend_from_slice(format!(r#"","expiresOn":"{valid}"}}"#).as_bytes());
    let event = binary(c.create_event(""), &overlong);
    c.push("create: overlong UTF-8", Route::Create, event, Json);
    let utf16: Vec<u8> = ok.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let event = with_header(
        binary(c.create_event(""), &utf16),
        "Content-Type",
        "application/json; charset=utf-16le",
    );
    c.push("create: UTF-16 body", Route::Create, event, Json);
    let event = with_header(
        c.create_event(&format!("name=ok&expiresOn={valid}")),
        "Content-Type",
        "application/x-www-form-urlencoded",
    );
    c.push("create: form post", Route::Create, event, Json);
    let multipart = format!(
        "--x\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nok\r\n--x\r\nContent-Disposition: form-data; name=\"expiresOn\"\r\n\r\n{valid}\r\n--x--\r\n"
    );
    let event = with_header(
        c.create_event(&multipart),
        "Content-Type",
        "multipart/form-data; boundary=x",
    );
    c.push("create: multipart post", Route::Create, event, Json);
    let event = with_header(
        c.create_event(&format!("name: ok\nexpiresOn: {valid}\n")),
        "Content-Type",
        "application/yaml",
    );
    c.push("create: YAML", Route::Create, event, Json);

    // Size: the limit is on the bytes of the body.
    let at_limit = |size: usize| {
        let head = format!(r#"{{"name":"ok","expiresOn":"{valid}","description":""#);
        let filler = size - head.len() - 2;
        format!("{head}{}\"}}", "d".repeat(filler))
    };
    assert_eq!(at_limit(16 * 1024).len(), 16 * 1024);
    c.create(
        "16 KiB body (its description too long)",
        &at_limit(16 * 1024),
        Field("description"),
    );
    c.create("16 KiB + 1 body", &at_limit(16 * 1024 + 1), TooLarge);
    c.create("1 MiB body", &at_limit(1024 * 1024), TooLarge);

    // Unknown fields are refused by name, before anything else.
    for (name, extra) in [
        ("unknown field role", r#""role":"Admin""#),
        ("field in another case", r#""Name":"other""#),
        ("another user's id", r#""userId":"bob""#),
        (
            "a chosen secret",
            r#""token":"pgt_0000000000000000000000000000000000000000000000000""#,
        ),
        ("a chosen hash", r#""tokenHash":"00""#),
        ("__proto__", r#""__proto__":{"admin":true}"#),
        ("empty key", r#""":1"#),
        ("unknown field twice", r#""x":1,"x":2"#),
        (
            "100 levels in an unknown field",
            &format!(r#""x":{}1{}"#, "[".repeat(100), "]".repeat(100)),
        ),
    ] {
        c.create_with(name, extra, Field("body"));
    }

    // Each field once: no "last one wins".
    let long = "n".repeat(101);
    for (name, body, field) in [
        (
            "expiresOn twice",
            format!(r#"{{"name":"ok","expiresOn":"tomorrow","expiresOn":"{valid}"}}"#),
            "expiresOn",
        ),
        (
            "101-char name then a valid one",
            format!(r#"{{"name":"{long}","name":"ok","expiresOn":"{valid}"}}"#),
            "name",
        ),
        (
            "the same name twice",
            format!(r#"{{"name":"ok","name":"ok","expiresOn":"{valid}"}}"#),
            "name",
        ),
        (
            "permissions twice",
            format!(
                r#"{{"name":"ok","expiresOn":"{valid}","permissions":["settings:admin"],"permissions":["catalog:read"]}}"#
            ),
            "permissions",
        ),
        (
            "a duplicate inside permissions",
            format!(r#"{{"name":"ok","expiresOn":"{valid}","permissions":[{{"a":1,"a":2}}]}}"#),
            "permissions",
        ),
        (
            "timeZone twice",
            format!(
                r#"{{"name":"ok","expiresOn":"{valid}","timeZone":"UTC","timeZone":"Mars/Base"}}"#
            ),
            "timeZone",
        ),
    ] {
        c.create(name, &body, Field(field));
    }

    // name
    let d = format!(r#""expiresOn":"{valid}""#);
    for (name, body) in [
        ("no fields", "{}".to_owned()),
        ("name missing", format!("{{{d}}}")),
        ("name null", format!(r#"{{"name":null,{d}}}"#)),
        ("name empty", format!(r#"{{"name":"",{d}}}"#)),
        ("name blank", format!(r#"{{"name":"   ",{d}}}"#)),
        ("name 101 characters", format!(r#"{{"name":"{long}",{d}}}"#)),
        (
            "name 101 emoji",
            format!(r#"{{"name":"{}",{d}}}"#, "🔑".repeat(101)),
        ),
        ("name a number", format!(r#"{{"name":5,{d}}}"#)),
        ("name a boolean", format!(r#"{{"name":true,{d}}}"#)),
        ("name a list", format!(r#"{{"name":["ok"],{d}}}"#)),
        ("name an object", format!(r#"{{"name":{{}},{d}}}"#)),
        ("name with NUL", format!(r#"{{"name":"a\u0000b",{d}}}"#)),
        (
            "name with an escape sequence",
            format!(r#"{{"name":"\u001b[31mred",{d}}}"#),
        ),
        (
            "name with a carriage return",
            format!(r#"{{"name":"a\rb",{d}}}"#),
        ),
        ("name with DEL", format!(r#"{{"name":"a\u007fb",{d}}}"#)),
        (
            "name with a C1 control",
            format!(r#"{{"name":"a\u0085b",{d}}}"#),
        ),
    ] {
        c.create(name, &body, Field("name"));
    }

    // description
    for (name, extra) in [
        (
            "description 501 characters",
            format!(r#""description":"{}""#, "d".repeat(501)),
        ),
        (
            "description with a bell",
            r#""description":"ding\u0007""#.to_owned(),
        ),
        ("description a number", r#""description":5"#.to_owned()),
        (
            "description an object",
            r#""description":{"text":"x"}"#.to_owned(),
        ),
    ] {
        c.create_with(name, &extra, Field("description"));
    }

    // expiresOn: missing, mistyped, malformed, impossible, past, too far.
    let n = r#""name":"ok""#;
    let today = |days: i64, zone: Tz| date_in(days, zone, c.now);
    for (name, body) in [
        ("expiresOn missing", format!("{{{n}}}")),
        ("expiresOn null", format!(r#"{{{n},"expiresOn":null}}"#)),
        (
            "expiresOn a number",
            format!(r#"{{{n},"expiresOn":20271231}}"#),
        ),
        (
            "expiresOn a word",
            format!(r#"{{{n},"expiresOn":"tomorrow"}}"#),
        ),
        (
            "expiresOn day first",
            format!(r#"{{{n},"expiresOn":"31/12/2026"}}"#),
        ),
        (
            "expiresOn 30 February",
            format!(r#"{{{n},"expiresOn":"2027-02-30"}}"#),
        ),
        (
            "expiresOn 29 February of a common year",
            format!(r#"{{{n},"expiresOn":"2027-02-29"}}"#),
        ),
        (
            "expiresOn month 13",
            format!(r#"{{{n},"expiresOn":"2027-13-01"}}"#),
        ),
        (
            "expiresOn one-digit month",
            format!(r#"{{{n},"expiresOn":"2027-1-01"}}"#),
        ),
        (
            "expiresOn a timestamp",
            format!(r#"{{{n},"expiresOn":"{valid}T00:00:00Z"}}"#),
        ),
        (
            "expiresOn with a space",
            format!(r#"{{{n},"expiresOn":" {valid}"}}"#),
        ),
        (
            "expiresOn in Arabic-Indic digits",
            format!(r#"{{{n},"expiresOn":"٢٠٢٧-٠١-٠١"}}"#),
        ),
        (
            "expiresOn signed year",
            format!(r#"{{{n},"expiresOn":"+{valid}"}}"#),
        ),
        (
            "expiresOn in 2020",
            format!(r#"{{{n},"expiresOn":"2020-01-01","timeZone":"UTC"}}"#),
        ),
        (
            "expiresOn yesterday",
            format!(
                r#"{{{n},"expiresOn":"{}","timeZone":"UTC"}}"#,
                today(-1, Tz::UTC)
            ),
        ),
        (
            "expiresOn yesterday in Kiritimati",
            format!(
                r#"{{{n},"expiresOn":"{}","timeZone":"Pacific/Kiritimati"}}"#,
                today(-1, Tz::Pacific__Kiritimati)
            ),
        ),
        (
            "expiresOn 367 days ahead",
            format!(
                r#"{{{n},"expiresOn":"{}","timeZone":"UTC"}}"#,
                today(367, Tz::UTC)
            ),
        ),
        (
            "expiresOn 367 days ahead in Etc/GMT+12",
            format!(
                r#"{{{n},"expiresOn":"{}","timeZone":"Etc/GMT+12"}}"#,
                today(367, Tz::Etc__GMTPlus12)
            ),
        ),
        (
            "expiresOn 9999-12-31",
            format!(r#"{{{n},"expiresOn":"9999-12-31","timeZone":"UTC"}}"#),
        ),
        // Without a zone in the body the user's is read first (one GetItem).
        (
            "expiresOn yesterday in the user's zone",
            format!(r#"{{{n},"expiresOn":"{}"}}"#, today(-2, Tz::UTC)),
        ),
    ] {
        c.create(name, &body, Field("expiresOn"));
    }

    // timeZone
    for (name, zone) in [
        ("timeZone unknown", r#""Mars/Olympus""#),
        ("timeZone misspelt", r#""Europe/Pariss""#),
        ("timeZone in lower case", r#""europe/paris""#),
        ("timeZone with a space", r#"" Europe/Paris""#),
        ("timeZone an offset", r#""+02:00""#),
        ("timeZone UTC+2", r#""UTC+2""#),
        ("timeZone empty", r#""""#),
        ("timeZone Local", r#""Local""#),
        ("timeZone a path", r#""../../etc/localtime""#),
        ("timeZone with NUL", r#""Europe/Paris\u0000""#),
        ("timeZone a number", "1"),
        ("timeZone a list", r#"["Europe/Paris"]"#),
    ] {
        c.create_with(name, &format!(r#""timeZone":{zone}"#), Field("timeZone"));
    }

    // permissions
    let many: Vec<String> = (0..101).map(|i| format!("\"p{i}\"")).collect();
    for (name, list) in [
        ("permissions empty", "[]".to_owned()),
        ("permissions a string", r#""catalog:read""#.to_owned()),
        ("permissions numbers", "[1]".to_owned()),
        ("permissions with null", "[null]".to_owned()),
        ("permissions unknown", r#"["nope:nothing"]"#.to_owned()),
        (
            "permissions in upper case",
            r#"["CATALOG:READ"]"#.to_owned(),
        ),
        ("permissions 101 names", format!("[{}]", many.join(","))),
        (
            "permissions an object",
            r#"{"catalog:read":true}"#.to_owned(),
        ),
        ("permissions nested", r#"[["catalog:read"]]"#.to_owned()),
    ] {
        c.create_with(
            name,
            &format!(r#""permissions":{list}"#),
            Field("permissions"),
        );
    }

    // Who is calling: only a web session of an active user.
    let body = ok.clone();
    for (name, caller, expect) in [
        (
            "no identity",
            Caller::Anonymous,
            Error(401, "unauthenticated"),
        ),
        (
            "a personal access token's context",
            Caller::Authorizer("alice".into()),
            Error(403, "session_required"),
        ),
        (
            "a session without a subject",
            Caller::Session(String::new()),
            Error(401, "unauthenticated"),
        ),
        (
            "a subject with #",
            Caller::Session("alice#PROFILE".into()),
            Error(401, "unauthenticated"),
        ),
        (
            "a 129-character subject",
            Caller::Session("a".repeat(129)),
            Error(401, "unauthenticated"),
        ),
        (
            "a subject with a space",
            Caller::Session("al ice".into()),
            Error(401, "unauthenticated"),
        ),
        (
            "a user with no record",
            Caller::Session("ghost".into()),
            Error(403, "forbidden"),
        ),
        (
            "a deactivated user",
            Caller::Session("ivan".into()),
            Error(403, "forbidden"),
        ),
    ] {
        let event = proxy_event("POST", "/tokens", "/tokens", Some(&body), &caller);
        c.push(format!("create: {name}"), Route::Create, event, expect);
    }
}

fn rotate_cases(c: &mut Catalogue) {
    use Expect::*;
    let valid = c.valid.clone();
    for (name, body, expect) in [
        ("array", "[]".to_owned(), Json),
        ("null", "null".to_owned(), Json),
        ("truncated", "{".to_owned(), Json),
        (
            "grace negative",
            r#"{"graceSeconds":-1}"#.to_owned(),
            Field("graceSeconds"),
        ),
        (
            "grace over a day",
            r#"{"graceSeconds":86401}"#.to_owned(),
            Field("graceSeconds"),
        ),
        (
            "grace fractional",
            r#"{"graceSeconds":1.5}"#.to_owned(),
            Field("graceSeconds"),
        ),
        (
            "grace a string",
            r#"{"graceSeconds":"60"}"#.to_owned(),
            Field("graceSeconds"),
        ),
        (
            "grace in exponent form",
            r#"{"graceSeconds":1e3}"#.to_owned(),
            Field("graceSeconds"),
        ),
        (
            "grace 2^32",
            r#"{"graceSeconds":4294967296}"#.to_owned(),
            Field("graceSeconds"),
        ),
        (
            "grace 2^64",
            r#"{"graceSeconds":18446744073709551616}"#.to_owned(),
            Field("graceSeconds"),
        ),
        (
            "grace twice",
            r#"{"graceSeconds":1,"graceSeconds":2}"#.to_owned(),
            Field("graceSeconds"),
        ),
        (
            "zone without a date",
            r#"{"timeZone":"Europe/Paris"}"#.to_owned(),
            Field("timeZone"),
        ),
        (
            "unknown zone",
            format!(r#"{{"expiresOn":"{valid}","timeZone":"Mars/Base"}}"#),
            Field("timeZone"),
        ),
        (
            "date in the past",
            r#"{"expiresOn":"2020-01-01","timeZone":"UTC"}"#.to_owned(),
            Field("expiresOn"),
        ),
        (
            "impossible date",
            r#"{"expiresOn":"2027-02-30"}"#.to_owned(),
            Field("expiresOn"),
        ),
        (
            "a new name",
            r#"{"name":"renamed"}"#.to_owned(),
            Field("body"),
        ),
        (
            "new permissions",
            r#"{"permissions":["settings:admin"]}"#.to_owned(),
            Field("body"),
        ),
        (
            "16 KiB + 1 body",
            format!(r#"{{"x":"{}"}}"#, "x".repeat(16 * 1024)),
            TooLarge,
        ),
    ] {
        c.rotate(name, &body, expect);
    }
    let alice = c.alice.clone();
    for (name, id) in [
        ("malformed id", "abc".to_owned()),
        ("lower-case id", c.live.id.to_lowercase()),
        ("another user's id", c.bobs.id.clone()),
        ("unknown id", "01ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned()),
        ("a revoked token", c.revoked.id.clone()),
    ] {
        let event = c.rotate_event(&id, r#"{"graceSeconds":60}"#, &alice);
        c.push(format!("rotate: {name}"), Route::Rotate, event, NotFound);
    }
    let event = c.rotate_event(
        &c.live.id.clone(),
        "{}",
        &Caller::Authorizer("alice".into()),
    );
    c.push(
        "rotate: a personal access token's context",
        Route::Rotate,
        event,
        Error(403, "session_required"),
    );
}

fn revoke_cases(c: &mut Catalogue) {
    use Expect::*;
    let live = c.live.id.clone();
    for (name, id) in [
        ("malformed id", "abc".to_owned()),
        ("empty id", String::new()),
        ("lower-case id", live.to_lowercase()),
        ("27 characters", format!("{live}0")),
        ("25 characters", live[..25].to_owned()),
        ("first character past 7", format!("8{}", &live[1..])),
        (
            "letters Crockford leaves out",
            "01ARZ3NDEKTSV4RRFFQ69G5ILO".to_owned(),
        ),
        ("a dot-dot path", format!("../{live}")),
        ("an encoded slash", format!("%2F{}", &live[3..])),
        ("with a space", format!(" {}", &live[1..])),
        ("with NUL", format!("{}\u{0}", &live[..25])),
        ("another user's id", c.bobs.id.clone()),
        ("unknown id", "01ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned()),
    ] {
        c.revoke(name, &id, NotFound);
    }
    let mut event = proxy_event("DELETE", "/tokens/{id}", "/tokens/", None, &c.alice);
    event["pathParameters"] = Value::Null;
    c.push("revoke: no path parameters", Route::Revoke, event, NotFound);
    let revoked = c.revoked.id.clone();
    c.revoke("already revoked", &revoked, Empty(204));
    let event = proxy_event(
        "DELETE",
        "/tokens/{id}",
        &format!("/tokens/{live}"),
        None,
        &Caller::Authorizer("alice".into()),
    );
    c.push(
        "revoke: a personal access token's context",
        Route::Revoke,
        event,
        Error(403, "session_required"),
    );
}

fn report_cases(c: &mut Catalogue) {
    use Expect::*;
    let many: Vec<String> = (0..1001).map(|i| format!("\"x{i}\"")).collect();
    let garbage: Vec<String> = (0..1000).map(|i| format!("\"pgt_{i}\"")).collect();
    let forged = TokenSecret::generate(&TokenPrefix::default()).unwrap();
    let mut bad_checksum = c.live.token.clone();
    let last = bad_checksum.pop().unwrap();
    bad_checksum.push(if last == 'A' { 'B' } else { 'A' });
    for (name, body, expect) in [
        ("empty body", String::new(), Json),
        ("array", format!(r#"["{}"]"#, c.live.token), Json),
        ("no fields", "{}".to_owned(), Field("credentials")),
        (
            "credentials null",
            r#"{"credentials":null}"#.to_owned(),
            Field("credentials"),
        ),
        (
            "credentials a string",
            r#"{"credentials":"pgt_x"}"#.to_owned(),
            Field("credentials"),
        ),
        (
            "credentials empty",
            r#"{"credentials":[]}"#.to_owned(),
            Field("credentials"),
        ),
        (
            "1001 credentials",
            format!(r#"{{"credentials":[{}]}}"#, many.join(",")),
            Field("credentials"),
        ),
        (
            "credentials numbers",
            r#"{"credentials":[1]}"#.to_owned(),
            Field("credentials"),
        ),
        (
            "credentials with null",
            r#"{"credentials":[null]}"#.to_owned(),
            Field("credentials"),
        ),
        (
            "credentials nested",
            r#"{"credentials":[["x"]]}"#.to_owned(),
            Field("credentials"),
        ),
        (
            "unknown field",
            r#"{"credentials":["x"],"reporter":"me"}"#.to_owned(),
            Field("body"),
        ),
        (
            "credentials twice",
            r#"{"credentials":["a"],"credentials":["b"]}"#.to_owned(),
            Field("credentials"),
        ),
        (
            "128 KiB + 1 body",
            format!(r#"{{"credentials":["{}"]}}"#, "x".repeat(128 * 1024)),
            TooLarge,
        ),
        // Acceptable reports that revoke nothing: 202, and nothing changes.
        (
            "strings of other services",
            r#"{"credentials":["ghp_abc","xoxb-1","AKIA0000"]}"#.to_owned(),
            Empty(202),
        ),
        (
            "an empty string",
            r#"{"credentials":[""]}"#.to_owned(),
            Empty(202),
        ),
        (
            "1000 malformed tokens",
            format!(r#"{{"credentials":[{}]}}"#, garbage.join(",")),
            Empty(202),
        ),
        (
            "a live token with a bad checksum",
            format!(r#"{{"credentials":["{bad_checksum}"]}}"#),
            Empty(202),
        ),
        (
            "a well-formed token nobody issued",
            format!(r#"{{"credentials":["{}"]}}"#, forged.expose()),
            Empty(202),
        ),
        (
            "a token revoked before",
            format!(r#"{{"credentials":["{}"]}}"#, c.revoked.token),
            Empty(202),
        ),
    ] {
        c.report(name, &body, expect);
    }
    let event = binary(
        proxy_event(
            "POST",
            "/credentials/revoke",
            "/credentials/revoke",
            Some(""),
            &Caller::Anonymous,
        ),
        b"{\"credentials\":[\"\xff\"]}",
    );
    c.push("report: invalid UTF-8", Route::Report, event, Json);
}

fn list_cases(c: &mut Catalogue) {
    use Expect::*;
    let live = c.live.id.clone();
    for (name, key, value, field) in [
        ("limit 0", "limit", "0", "limit"),
        ("limit negative", "limit", "-1", "limit"),
        ("limit 101", "limit", "101", "limit"),
        ("limit fractional", "limit", "1.5", "limit"),
        ("limit a word", "limit", "ten", "limit"),
        ("limit empty", "limit", "", "limit"),
        ("limit with a space", "limit", " 5", "limit"),
        ("limit in hex", "limit", "0x10", "limit"),
        ("limit past u64", "limit", "99999999999999999999", "limit"),
        ("status in upper case", "status", "ACTIVE", "status"),
        ("status expired", "status", "expired", "status"),
        ("status empty", "status", "", "status"),
        ("nextToken empty", "nextToken", "", "nextToken"),
        (
            "nextToken garbage",
            "nextToken",
            "eyJwayI6IlVTRVIjYm9iIn0=",
            "nextToken",
        ),
        (
            "nextToken in lower case",
            "nextToken",
            &live.to_lowercase(),
            "nextToken",
        ),
        (
            "nextToken 27 characters",
            "nextToken",
            &format!("{live}0"),
            "nextToken",
        ),
        (
            "nextToken with NUL",
            "nextToken",
            &format!("{}\u{0}", &live[..25]),
            "nextToken",
        ),
        (
            "nextToken a key",
            "nextToken",
            &format!("TOKENS#bob|TOKEN#{live}"),
            "nextToken",
        ),
        ("unknown parameter", "sort", "asc", "query"),
        ("parameter in another case", "Limit", "5", "query"),
        ("user parameter", "userId", "bob", "query"),
    ] {
        c.list(name, &[(key, value)], Field(field));
    }
    let event = proxy_event(
        "GET",
        "/tokens",
        "/tokens",
        None,
        &Caller::Authorizer("alice".into()),
    );
    c.push(
        "list: a personal access token's context",
        Route::List,
        event,
        Error(403, "session_required"),
    );
}

fn authorizer_cases(c: &mut Catalogue) {
    use Expect::*;
    let live = c.live.token.clone();
    let replace_at = |at: usize, with: char| {
        let mut chars: Vec<char> = live.chars().collect();
        chars[at] = with;
        chars.into_iter().collect::<String>()
    };
    let last = live.chars().count() - 1;
    let other_last = if live.ends_with('A') { 'B' } else { 'A' };
    let forged = TokenSecret::generate(&TokenPrefix::default()).unwrap();
    for (name, header, reason) in [
        ("empty header", String::new(), "malformed_header"),
        ("scheme only", "Bearer".to_owned(), "malformed_header"),
        (
            "scheme and a space",
            "Bearer ".to_owned(),
            "malformed_header",
        ),
        (
            "basic credentials",
            "Basic YWxpY2U6c2VjcmV0".to_owned(),
            "malformed_header",
        ),
        (
            "another scheme",
            format!("Token {live}"),
            "malformed_header",
        ),
        ("no scheme", live.clone(), "malformed_header"),
        (
            "two tokens",
            format!("Bearer {live} {live}"),
            "malformed_header",
        ),
        (
            "no-break space after the scheme",
            format!("Bearer\u{a0}{live}"),
            "malformed_header",
        ),
        (
            "full-width scheme",
            format!("Ｂｅａｒｅｒ {live}"),
            "malformed_header",
        ),
        (
            "comma-joined tokens",
            format!("Bearer {live},{live}"),
            "wrong_length",
        ),
        ("short token", "Bearer pgt_short".to_owned(), "wrong_length"),
        (
            "8 KB token",
            format!("Bearer pgt_{}", "a".repeat(8192)),
            "wrong_length",
        ),
        (
            "zero-width space appended",
            format!("Bearer {live}\u{200b}"),
            "wrong_length",
        ),
        (
            "another service's prefix",
            format!("Bearer ghp_{}", &live[4..]),
            "wrong_prefix",
        ),
        (
            "prefix in upper case",
            format!("Bearer PGT_{}", &live[4..]),
            "wrong_prefix",
        ),
        (
            "prefix without underscore",
            format!("Bearer pgt{}", &live[4..]),
            "wrong_prefix",
        ),
        (
            "a dash in the secret",
            format!("Bearer {}", replace_at(10, '-')),
            "bad_character",
        ),
        (
            "a non-ASCII letter",
            format!("Bearer {}", replace_at(10, 'é')),
            "wrong_length",
        ),
        (
            "last character changed",
            format!("Bearer {}", replace_at(last, other_last)),
            "bad_checksum",
        ),
        (
            "first secret character changed",
            format!(
                "Bearer {}",
                replace_at(
                    4,
                    if live.chars().nth(4) == Some('A') {
                        'B'
                    } else {
                        'A'
                    }
                )
            ),
            "bad_checksum",
        ),
    ] {
        c.authorize(name, Some(&header), Unauthorized(reason, 0));
    }
    c.authorize(
        "no Authorization header",
        None,
        Unauthorized("missing_header", 0),
    );
    // Well-formed: refused after one read.
    let forged_header = format!("Bearer {}", forged.expose());
    c.authorize(
        "a well-formed token nobody issued",
        Some(&forged_header),
        Unauthorized("unknown_token", 1),
    );
    let revoked = format!("Bearer {}", c.revoked.token);
    c.authorize(
        "a revoked token",
        Some(&revoked),
        Unauthorized("unknown_token", 1),
    );
    let inactive = format!("Bearer {}", c.inactive.token);
    c.authorize(
        "a deactivated user's token",
        Some(&inactive),
        Unauthorized("user_inactive", 1),
    );
    let valid = format!("Bearer {live}");
    c.authorize_at(
        "a token past its expiry",
        Some(&valid),
        Duration::days(32),
        Unauthorized("expired", 1),
    );
    // A valid token in a malformed event is refused too, and never writes.
    let arn = method_arn("GET", "/catalog");
    let mut event = request_authorizer_event(Some(&valid), "arn:aws:execute-api:nowhere");
    c.authorize_event(
        "a valid token with a malformed method ARN",
        event.clone(),
        Unauthorized("malformed_method_arn", 1),
    );
    event["methodArn"] = Value::Null;
    c.authorize_event(
        "a valid token without a method ARN",
        event,
        Unauthorized("malformed_event", 0),
    );
    let mut event = request_authorizer_event(Some(&valid), &arn);
    event["type"] = json!("OTHER");
    c.authorize_event(
        "an event of another type",
        event,
        Unauthorized("malformed_event", 0),
    );
    let event = with_header(
        request_authorizer_event(Some(&valid), &arn),
        "User-Agent",
        "bot\u{1}",
    );
    c.authorize_event(
        "a valid token with a control character in the user agent",
        event,
        Unauthorized("malformed_event", 0),
    );
    let event = with_header(
        request_authorizer_event(None, &arn),
        "Authorization",
        &format!("Bearer {live}\u{0}"),
    );
    c.authorize_event(
        "a valid token with NUL appended",
        event,
        Unauthorized("malformed_event", 0),
    );
    let mut event = token_authorizer_event("", &arn);
    c.authorize_event(
        "TOKEN event with an empty token",
        event.clone(),
        Unauthorized("malformed_header", 0),
    );
    event.as_object_mut().unwrap().remove("authorizationToken");
    c.authorize_event(
        "TOKEN event without a token",
        event,
        Unauthorized("missing_header", 0),
    );
    let event = token_authorizer_event(&format!("Bearer {}", replace_at(last, other_last)), &arn);
    c.authorize_event(
        "TOKEN event with a bad checksum",
        event,
        Unauthorized("bad_checksum", 0),
    );
}

/// A stable rendering of every stored item (sets sorted), the items sorted.
fn dump(items: &[Item]) -> Vec<String> {
    fn canonical(value: &AttributeValue) -> String {
        match value {
            AttributeValue::Ss(set) | AttributeValue::Ns(set) => {
                let mut sorted = set.clone();
                sorted.sort();
                format!("{sorted:?}")
            }
            AttributeValue::L(list) => {
                format!("L{:?}", list.iter().map(canonical).collect::<Vec<_>>())
            }
            AttributeValue::M(map) => format!(
                "M{:?}",
                map.iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect::<BTreeMap<_, _>>()
            ),
            other => format!("{other:?}"),
        }
    }
    let mut rendered: Vec<String> = items
        .iter()
        .map(|item| {
            format!(
                "{:?}",
                item.iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect::<BTreeMap<_, _>>()
            )
        })
        .collect();
    rendered.sort();
    rendered
}

const WRITES: [&str; 6] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "ExecuteStatement",
];

#[tokio::test]
async fn bad_input_gets_its_exact_error_and_changes_nothing_stored() {
    let table = TestTable::new().await;
    let proxy = DynamoProxy::start(&endpoint()).await;
    let app = TestApp::on(table.through(&proxy.endpoint), &[]);
    let setup = TestApp::on(table, &[]);
    let now = Utc::now();
    let alice = setup.user("alice", &["User"], Some("Europe/Paris")).await;
    let bob = setup.user("bob", &["User"], None).await;
    let ivan = setup.user("ivan", &["User"], None).await;
    let live = setup.issue(&alice).await;
    let revoked = setup.issue(&alice).await;
    assert_eq!(setup.revoke(&alice, &revoked.id).await.status, 204);
    let bobs = setup.issue(&bob).await;
    let inactive = setup.issue(&ivan).await;
    let deactivated = User {
        id: UserId::parse("ivan").unwrap(),
        roles: vec!["User".to_owned()],
        time_zone: None,
        active: false,
    };
    setup.table.store.put_user(&deactivated).await.unwrap();

    let mut catalogue = Catalogue {
        now,
        valid: date_in(30, Tz::UTC, now),
        alice,
        live,
        revoked,
        bobs,
        inactive,
        cases: Vec::new(),
    };
    create_cases(&mut catalogue);
    rotate_cases(&mut catalogue);
    revoke_cases(&mut catalogue);
    report_cases(&mut catalogue);
    list_cases(&mut catalogue);
    authorizer_cases(&mut catalogue);
    let cases = catalogue.cases;
    assert!(cases.len() >= 100, "{} cases", cases.len());

    let before = dump(&setup.table.all_items().await);
    let authorizer = app.authorizer();
    let mut failures = Vec::new();
    for case in &cases {
        proxy.clear_recorded();
        let at = now + case.later;
        let got = match case.route {
            Route::Authorizer => match authorizer.handle(case.event.clone(), at).await {
                Ok(_) => Outcome {
                    status: 200,
                    code: "allow".into(),
                    field: String::new(),
                    message: String::new(),
                },
                Err(err @ AuthorizerError::Unauthorized(_)) => Outcome {
                    status: 401,
                    code: err.reason().to_owned(),
                    field: String::new(),
                    message: err.to_string(),
                },
                Err(err) => Outcome {
                    status: 500,
                    code: err.reason().to_owned(),
                    field: String::new(),
                    message: err.to_string(),
                },
            },
            route => {
                let request = request(&case.event);
                let service = &app.service;
                outcome_of(match route {
                    Route::Create => create_token::handle(service, request, at).await,
                    Route::List => list_tokens::handle(service, request, at).await,
                    Route::Revoke => revoke_token::handle(service, request, at).await,
                    Route::Rotate => rotate_token::handle(service, request, at).await,
                    Route::Report => revoke_credentials::handle(service, request, at).await,
                    Route::Authorizer => unreachable!(),
                })
            }
        };
        // Anything sent counts, even a request the code stopped waiting for.
        proxy.settle().await;
        let requests = proxy.recorded();
        let (status, code, field) = match case.expect {
            Expect::Field(field) => (400, "invalid_field", field),
            Expect::Json => (400, "invalid_json", ""),
            Expect::TooLarge => (413, "payload_too_large", ""),
            Expect::NotFound => (404, "not_found", ""),
            Expect::Error(status, code) => (status, code, ""),
            Expect::Empty(status) => (status, "", ""),
            Expect::Unauthorized(reason, _) => (401, reason, ""),
        };
        let mut wrong = Vec::new();
        if (got.status, got.code.as_str(), got.field.as_str()) != (status, code, field) {
            wrong.push(format!("expected {status} {code} {field:?}"));
        }
        if !field.is_empty() && !got.message.starts_with(&format!("{field}: ")) {
            wrong.push(format!("the message does not name {field}"));
        }
        if status >= 400 && case.route != Route::Authorizer && got.message.is_empty() {
            wrong.push("no error message".to_owned());
        }
        if let Expect::Unauthorized(_, reads) = case.expect {
            if requests.len() != reads {
                wrong.push(format!(
                    "expected {reads} DynamoDB requests, saw {}",
                    requests.len()
                ));
            }
            if got.message != "Unauthorized" {
                wrong.push("API Gateway answers 401 only to `Unauthorized`".to_owned());
            }
        }
        let writes: Vec<&str> = requests
            .iter()
            .map(|r| r.operation.as_str())
            .filter(|op| WRITES.contains(op))
            .collect();
        if !writes.is_empty() {
            wrong.push(format!("wrote to DynamoDB: {writes:?}"));
        }
        if !wrong.is_empty() {
            failures.push(format!("{}: got {got:?}; {}", case.name, wrong.join("; ")));
        }
    }
    let after = dump(&setup.table.all_items().await);
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(before, after, "the table changed");
    println!(
        "{} bad inputs: each its exact answer, nothing stored changed",
        cases.len()
    );
}

/// User agents as a REST API hands them on: text that is not what a browser sends
/// (bytes a gateway could not decode, replaced; Latin-1 read as UTF-8; emoji;
/// direction overrides; nothing at all) neither denies a valid token nor breaks the
/// last-use write, which keeps the agent as sent, cut to 256 characters.
#[tokio::test]
async fn odd_user_agents_of_a_valid_token_are_allowed_and_recorded_as_sent() {
    let app = TestApp::new().await;
    let kim = app.user("kim", &["User"], None).await;
    let token = app.issue(&kim).await.token;
    let start = Utc::now();
    let long = "é".repeat(300);
    let cut = "é".repeat(256);
    let agents = [
        ("café-client/1.0", "café-client/1.0"),
        ("\u{fffd}\u{fffd}bot/2", "\u{fffd}\u{fffd}bot/2"),
        ("Ã©lan/3", "Ã©lan/3"),
        ("🤖/4", "🤖/4"),
        ("\u{202e}evil", "\u{202e}evil"),
        ("a\tb", "a\tb"),
        ("   ", "   "),
        ("", ""),
        (long.as_str(), cut.as_str()),
    ];
    for (i, (agent, kept)) in agents.into_iter().enumerate() {
        // Each use a new last-use interval later, so each one is recorded.
        let at = start + Duration::seconds(301 * (i as i64 + 1));
        let event = with_header(
            request_authorizer_event(
                Some(&format!("Bearer {token}")),
                &method_arn("GET", "/catalog"),
            ),
            "User-Agent",
            agent,
        );
        let decision = app.authorizer().handle(event, at).await;
        assert!(decision.is_ok(), "{agent:?}: {decision:?}");
        let listed = app.list_query(&kim, &[], at).await.body["tokens"][0].clone();
        assert_eq!(
            listed["lastUsedAt"],
            json!(patgate::api::wire_time(at)),
            "{agent:?}: the use is recorded"
        );
        assert_eq!(listed["lastUsedUserAgent"], json!(kept), "{agent:?}");
    }
}

/// A user record as an older writer or a hand-made import stores it: no
/// `access_version`, no time zone, and no slots item yet. It creates tokens up to the
/// cap under concurrency (409s, never 5xx), and a role change reaches its tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_record_without_an_access_version_works_like_any_other() {
    let app = std::sync::Arc::new(TestApp::with(&[("MAX_TOKENS_PER_USER", "3")]).await);
    let s = |v: &str| AttributeValue::S(v.to_owned());
    app.table
        .client
        .put_item()
        .table_name(app.table.name())
        .item("pk", s("USER#olga"))
        .item("sk", s("PROFILE"))
        .item("user_id", s("olga"))
        .item("roles", AttributeValue::L(vec![s("Viewer")]))
        .item("active", AttributeValue::Bool(true))
        .send()
        .await
        .unwrap();
    let olga = Caller::Session("olga".to_owned());
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (app, olga) = (app.clone(), olga.clone());
        attempts.spawn(async move {
            let body =
                json!({"name": format!("t{i}"), "expiresOn": date_in(5, Tz::UTC, Utc::now())});
            app.create(&olga, body).await
        });
    }
    let mut statuses: Vec<u16> = attempts.join_all().await.iter().map(|a| a.status).collect();
    statuses.sort();
    assert_eq!(statuses, [201, 201, 201, 409, 409, 409, 409, 409]);

    let promoted = User {
        id: UserId::parse("olga").unwrap(),
        roles: vec!["Manager".to_owned()],
        time_zone: None,
        active: true,
    };
    let stored = app.table.store.put_user(&promoted).await.unwrap();
    assert_eq!(stored.access_version, 1, "a missing version reads as 0");
    let listed = app.list(&olga).await;
    let tokens = listed.body["tokens"].as_array().unwrap().clone();
    assert_eq!(tokens.len(), 3);
    let authorizer = app.authorizer();
    let secret = app
        .rotate(&olga, tokens[0]["id"].as_str().unwrap(), json!({}))
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let decision = app
        .authorize(&authorizer, &secret, "PUT", "/scorecards/svc-1", Utc::now())
        .await
        .unwrap();
    assert!(
        decision.context.permissions.contains("scorecard:edit"),
        "{:?}",
        decision.context
    );
}
