//! Bad inputs of rotate, revoke, the leaked-credential report, list, and the
//! authorizer's header.

use chrono::Duration;
use patgate::token::{TokenPrefix, TokenSecret};
use patgate_tests::*;
use serde_json::{json, Value};

use super::*;

pub(super) fn rotate_cases(c: &mut Catalogue) {
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

pub(super) fn revoke_cases(c: &mut Catalogue) {
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

pub(super) fn report_cases(c: &mut Catalogue) {
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

pub(super) fn list_cases(c: &mut Catalogue) {
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

pub(super) fn authorizer_cases(c: &mut Catalogue) {
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
