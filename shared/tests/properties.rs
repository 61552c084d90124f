//! Property tests of the pure domain: token format, bearer parsing and end of day.
//!
//! Cases per property: `PATGATE_PROPTEST_CASES` (the test command uses the defaults
//! below, thousands each; `infra/scripts/proptest-long.sh` runs a million).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::{Tz, TZ_VARIANTS};
use patgate::expiry::end_of_day;
use patgate::permissions::glob_match;
use patgate::token::{bearer_token, AcceptedPrefixes, TokenPrefix, TokenSecret, BODY_LEN};
use proptest::prelude::*;

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PATGATE_PROPTEST_CASES")
        .ok()
        .and_then(|raw| raw.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn prefix_strategy() -> impl Strategy<Value = TokenPrefix> {
    // The whole prefix: 2 to 32 characters of a-z, 0-9 and _, a letter first, _ last.
    "[a-z][a-z0-9_]{0,30}_"
        .prop_map(|raw| TokenPrefix::new(&raw).expect("pattern matches the rule"))
}

proptest! {
    #![proptest_config(cases(3000))]

    #[test]
    fn generated_tokens_parse_back_to_themselves(prefix in prefix_strategy()) {
        let token = TokenSecret::generate(&prefix).unwrap();
        let parsed = TokenSecret::parse(&prefix, token.expose()).unwrap();
        prop_assert_eq!(parsed.hash(), token.hash());
        prop_assert_eq!(token.expose().len(), prefix.as_str().len() + BODY_LEN);
        prop_assert!(token.hint().starts_with(prefix.as_str()));
    }

    #[test]
    fn a_token_parses_under_exactly_its_own_prefix(issued in prefix_strategy(), other in prefix_strategy()) {
        prop_assume!(issued != other);
        let token = TokenSecret::generate(&issued).unwrap();
        prop_assert!(TokenSecret::parse(&other, token.expose()).is_err());
        let accepted = AcceptedPrefixes { current: other.clone(), earlier: vec![issued.clone()] };
        prop_assert_eq!(accepted.parse(token.expose()).unwrap().hash(), token.hash());
        let dropped = AcceptedPrefixes { current: other, earlier: Vec::new() };
        prop_assert!(dropped.parse(token.expose()).is_err());
    }

    #[test]
    fn parsing_never_panics_and_accepts_only_the_exact_shape(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let text = String::from_utf8_lossy(&bytes);
        let prefix = TokenPrefix::default();
        if let Ok(parsed) = TokenSecret::parse(&prefix, &text) {
            let text = parsed.expose();
            prop_assert!(text.starts_with("pgt_"));
            prop_assert_eq!(text.len(), 4 + BODY_LEN);
            prop_assert!(text[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        }
        let _ = bearer_token(&text);
    }

    #[test]
    fn a_changed_character_is_caught_by_the_checksum(position in 4usize..(4 + BODY_LEN), replacement in "[0-9A-Za-z]") {
        let prefix = TokenPrefix::default();
        let token = TokenSecret::generate(&prefix).unwrap();
        let mut text = token.expose().to_owned();
        prop_assume!(&text[position..position + 1] != replacement.as_str());
        text.replace_range(position..position + 1, &replacement);
        prop_assert!(TokenSecret::parse(&prefix, &text).is_err());
    }

    #[test]
    fn bearer_parsing_finds_exactly_the_token(scheme in "(?i)bearer", lead in "[ \t]{0,3}", gap in "[ \t]{1,3}", tail in "[ \t]{0,3}", token in "[!-~]{1,80}") {
        let header = format!("{lead}{scheme}{gap}{token}{tail}");
        prop_assert_eq!(bearer_token(&header), Some(token.as_str()));
        // Two tokens, or another scheme, are never read as one.
        let two = format!("{scheme} {token} {token}");
        prop_assert_eq!(bearer_token(&two), None);
        let basic = format!("Basic {token}");
        prop_assert_eq!(bearer_token(&basic), None);
    }
}

/// The first instant whose local date in `zone` is after `date`, found by walking
/// UTC minutes (then seconds) over every instant the next local day can start at:
/// independent of how `end_of_day` finds it.
fn brute_force_end_of_day(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let next_day_utc = date
        .succ_opt()
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    // Offsets span -12:00..+14:00, and a DST gap moves a day start by a few hours.
    let mut minute = next_day_utc - Duration::hours(16);
    let after = |at: DateTime<Utc>| at.with_timezone(&zone).date_naive() > date;
    while !after(minute) {
        minute += Duration::minutes(1);
        assert!(
            minute < next_day_utc + Duration::hours(16),
            "{zone} {date}: no next day found"
        );
    }
    // Historic offsets are not always whole minutes: refine to the second.
    let mut second = minute - Duration::seconds(59);
    while !after(second) {
        second += Duration::seconds(1);
    }
    second
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn end_of_day_is_the_first_instant_of_the_next_local_day(zone_index in 0..TZ_VARIANTS.len(), days in 0i64..47_482) {
        let zone = TZ_VARIANTS[zone_index];
        let date = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + Duration::days(days);
        let expected = brute_force_end_of_day(date, zone);
        prop_assert_eq!(end_of_day(date, zone), Some(expected), "{} {}", zone, date);
        // And the local clock there reads the next day.
        let local = zone.from_utc_datetime(&expected.naive_utc());
        prop_assert!(local.date_naive() > date);
    }
}

/// IAM matching by its definition: `*` any run of characters, `?` exactly one.
fn reference_glob(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len()).any(|skip| reference_glob(rest, &text[skip..])),
        Some(('?', rest)) => !text.is_empty() && reference_glob(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && reference_glob(rest, &text[1..]),
    }
}

proptest! {
    #![proptest_config(cases(3000))]

    /// The policy matcher (a backtracking scan) agrees with the definition on small
    /// alphabets, where stars must give characters back to match.
    #[test]
    fn glob_matching_agrees_with_its_definition(pattern in "[ab/*?]{0,8}", text in "[ab/]{0,10}") {
        let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
        prop_assert_eq!(glob_match(&pattern, &text), reference_glob(&p, &t));
    }
}
