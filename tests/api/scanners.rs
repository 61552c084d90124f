//! The fixture tree the scanner rules are checked on (tests/scanners, run by
//! infra/scanners/check.py) agrees with the token parser: its valid tokens parse under
//! their own prefix, its look-alikes fail the checksum, its decoys parse under none,
//! and each planted string is really in the tree.

use patgate::token::{AcceptedPrefixes, TokenFormatError, TokenPrefix, TokenSecret};
use patgate_tests::repo_root;
use serde_json::Value;

fn planted() -> Value {
    let path = repo_root().join("tests/scanners/planted.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("planted.json")).expect("JSON")
}

fn strings<'a>(planted: &'a Value, kind: &str) -> Vec<&'a str> {
    planted[kind]
        .as_array()
        .unwrap_or_else(|| panic!("{kind}"))
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect()
}

/// The prefix a token claims: everything up to its last `_`.
fn own_prefix(token: &str) -> TokenPrefix {
    let end = token.rfind('_').expect("a prefix") + 1;
    TokenPrefix::new(&token[..end]).expect("a valid prefix")
}

#[test]
fn the_planted_strings_are_what_the_token_parser_says_they_are() {
    let planted = planted();
    let both = AcceptedPrefixes {
        current: TokenPrefix::new("acme_pgt_").unwrap(),
        earlier: vec![TokenPrefix::default()],
    };
    for token in strings(&planted, "valid") {
        assert!(
            TokenSecret::parse(&own_prefix(token), token).is_ok(),
            "{token}"
        );
    }
    for token in strings(&planted, "look_alike") {
        assert_eq!(
            TokenSecret::parse(&own_prefix(token), token),
            Err(TokenFormatError::BadChecksum),
            "{token}"
        );
    }
    for decoy in strings(&planted, "decoy") {
        assert!(both.parse(decoy).is_err(), "{decoy}");
    }
    let tree: String = [
        "config/.env",
        "deploy/ci.yml",
        "src/client.py",
        "docs/notes.md",
        "data/settings.json",
    ]
    .iter()
    .map(|f| {
        std::fs::read_to_string(repo_root().join("tests/scanners/fixtures").join(f))
            .unwrap_or_else(|e| panic!("{f}: {e}"))
    })
    .collect();
    for kind in ["valid", "look_alike", "decoy"] {
        for s in strings(&planted, kind) {
            assert!(tree.contains(s), "{kind} {s} is not in the fixture tree");
        }
    }
}
