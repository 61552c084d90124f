//! Bad inputs of `POST /tokens`.

use chrono_tz::Tz;
use patgate_tests::*;

use super::*;

pub(super) fn create_cases(c: &mut Catalogue) {
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
