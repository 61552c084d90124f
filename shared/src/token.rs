//! Token format, hashing and identifiers.
//!
//! A personal access token reads `{prefix}{secret}{checksum}`:
//! - `prefix`: the deployment's [`TokenPrefix`] (default `pgt_`, always ending in `_`),
//!   so leaked tokens are recognisable by secret scanners and traceable to the
//!   deployment that issued them;
//! - `secret`: 43 base62 characters drawn uniformly from the OS CSPRNG
//!   (43 × log2 62 ≈ 256.03 bits of entropy);
//! - `checksum`: CRC32 of everything before it, as 6 base62 characters.
//!
//! The checksum lets the authorizer refuse a mistyped or corrupted string by parsing
//! alone, before any DynamoDB call. It is not a secret: a well-formed forgery (random
//! characters with a correct CRC32) costs one lookup that finds nothing. Only a stored
//! [`TokenHash`] proves a token.

use std::fmt;

use rand::rngs::OsRng;
use rand::TryRngCore;
use sha2::{Digest, Sha256};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const SECRET_LEN: usize = 43;
pub const CHECKSUM_LEN: usize = 6;
/// Characters after the prefix.
pub const BODY_LEN: usize = SECRET_LEN + CHECKSUM_LEN;
const DEFAULT_PREFIX: &str = "pgt_";
/// Longest prefix, `_` included.
pub const MAX_PREFIX_LEN: usize = 32;

/// Why a string is not a well-formed token. The authorizer logs these as reason codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    #[error("token does not start with this deployment's prefix")]
    WrongPrefix,
    #[error("token has the wrong length")]
    WrongLength,
    #[error("token contains a character outside base62")]
    BadCharacter,
    #[error("token checksum does not match")]
    BadChecksum,
}

impl TokenFormatError {
    pub fn reason_code(self) -> &'static str {
        match self {
            TokenFormatError::WrongPrefix => "wrong_prefix",
            TokenFormatError::WrongLength => "wrong_length",
            TokenFormatError::BadCharacter => "bad_character",
            TokenFormatError::BadChecksum => "bad_checksum",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomnessError;

/// The prefix of every token a deployment issues, whole: 2 to 32 characters of `a-z`,
/// `0-9` and `_`, starting with a letter and ending in `_` (e.g. `acme_pgt_`). The body
/// after it is base62, which has no `_`: a token's prefix is everything up to its last
/// `_`, so no two prefixes can claim the same token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPrefix(String);

impl TokenPrefix {
    pub const RULE: &'static str =
        "a token prefix is 2 to 32 characters of a-z, 0-9 and _, starting with a letter and ending in _";

    pub fn new(raw: &str) -> Result<Self, &'static str> {
        let bytes = raw.as_bytes();
        let ok = (2..=MAX_PREFIX_LEN).contains(&bytes.len())
            && bytes[0].is_ascii_lowercase()
            && bytes.last() == Some(&b'_')
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
        if ok {
            Ok(TokenPrefix(raw.to_owned()))
        } else {
            Err(Self::RULE)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TokenPrefix {
    fn default() -> Self {
        TokenPrefix(DEFAULT_PREFIX.to_owned())
    }
}

/// The prefixes whose tokens a deployment accepts: the one it issues now, and earlier
/// ones whose tokens keep working until they expire (a prefix change never breaks a
/// token already handed out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcceptedPrefixes {
    pub current: TokenPrefix,
    pub earlier: Vec<TokenPrefix>,
}

impl AcceptedPrefixes {
    /// Checks a presented string against each accepted prefix: see
    /// [`TokenSecret::parse_any`].
    pub fn parse(&self, presented: &str) -> Result<TokenSecret, TokenFormatError> {
        TokenSecret::parse_any(self.all(), presented)
    }

    /// Every accepted prefix, the current one first.
    pub fn all(&self) -> impl Iterator<Item = &TokenPrefix> {
        std::iter::once(&self.current).chain(&self.earlier)
    }
}

/// The plaintext of a token. It leaves the process once, in the response that issues
/// it; `Debug` never shows it, so it cannot slip into logs or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(<redacted>)")
    }
}

impl TokenSecret {
    /// A fresh token from the OS CSPRNG.
    pub fn generate(prefix: &TokenPrefix) -> Result<Self, RandomnessError> {
        let secret = random_base62(SECRET_LEN)?;
        let mut text = String::with_capacity(prefix.0.len() + BODY_LEN);
        text.push_str(&prefix.0);
        text.push_str(&secret);
        let checksum = checksum(&text);
        text.push_str(&checksum);
        Ok(TokenSecret(text))
    }

    /// Checks a presented string's shape and checksum. No I/O.
    pub fn parse(prefix: &TokenPrefix, presented: &str) -> Result<Self, TokenFormatError> {
        let rest = presented
            .strip_prefix(prefix.as_str())
            .ok_or(TokenFormatError::WrongPrefix)?;
        if rest.len() != BODY_LEN {
            return Err(TokenFormatError::WrongLength);
        }
        if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(TokenFormatError::BadCharacter);
        }
        let (signed, presented_checksum) = presented.split_at(presented.len() - CHECKSUM_LEN);
        if checksum(signed) != presented_checksum {
            return Err(TokenFormatError::BadChecksum);
        }
        Ok(TokenSecret(presented.to_owned()))
    }

    /// Checks a presented string against each of `prefixes` it starts with. No I/O, no
    /// allocation. With no prefix matching, the reason is `WrongPrefix`; otherwise it
    /// is that of the longest matching prefix (the token's own, as its body has no `_`).
    pub fn parse_any<'a>(
        prefixes: impl IntoIterator<Item = &'a TokenPrefix>,
        presented: &str,
    ) -> Result<Self, TokenFormatError> {
        let mut longest: Option<(usize, TokenFormatError)> = None;
        for prefix in prefixes {
            if !presented.starts_with(prefix.as_str()) {
                continue;
            }
            match TokenSecret::parse(prefix, presented) {
                Ok(secret) => return Ok(secret),
                Err(err) => {
                    let len = prefix.as_str().len();
                    if longest.is_none_or(|(best, _)| len > best) {
                        longest = Some((len, err));
                    }
                }
            }
        }
        Err(longest.map_or(TokenFormatError::WrongPrefix, |(_, err)| err))
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }

    /// What lists show instead of the secret: the prefix (up to the last `_`, since the
    /// body has none) and the last 4 characters.
    pub fn hint(&self) -> String {
        let prefix_end = self.0.rfind('_').map_or(0, |i| i + 1);
        format!("{}…{}", &self.0[..prefix_end], &self.0[self.0.len() - 4..])
    }

    /// The plaintext, for the one response that hands it to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// SHA-256 of a token, lowercase hex: the only form in which a token is stored.
/// `Debug` hides it too, so a logged record cannot leak it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash(String);

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

impl TokenHash {
    pub fn of(token: &str) -> Self {
        let digest = Sha256::digest(token.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
        }
        TokenHash(hex)
    }

    /// Rebuilds a hash read back from storage.
    pub fn from_stored(hex: String) -> Self {
        TokenHash(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A token's public identifier: 26 characters of Crockford base32 in the ULID layout
/// (48-bit millisecond timestamp, then 80 random bits), so ids sort by creation time
/// and a user's tokens list newest first straight from the sort key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId(String);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl TokenId {
    pub fn generate(now_millis: u64) -> Result<Self, RandomnessError> {
        let mut random = [0u8; 10];
        OsRng
            .try_fill_bytes(&mut random)
            .map_err(|_| RandomnessError)?;
        let mut value: u128 = u128::from(now_millis & 0xFFFF_FFFF_FFFF) << 80;
        for (i, byte) in random.iter().enumerate() {
            value |= u128::from(*byte) << (8 * (9 - i));
        }
        let mut id = [0u8; 26];
        for (i, slot) in id.iter_mut().enumerate() {
            let shift = 5 * (25 - i);
            *slot = CROCKFORD[((value >> shift) & 0x1f) as usize];
        }
        Ok(TokenId(id.iter().map(|&b| char::from(b)).collect()))
    }

    /// Accepts only the canonical form this service issues.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw.len() == 26
            && raw.bytes().all(|b| CROCKFORD.contains(&b))
            && raw.as_bytes()[0] <= b'7';
        ok.then(|| TokenId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The creation time written into the id, in milliseconds since the epoch.
    pub fn created_millis(&self) -> Option<i64> {
        self.0.bytes().take(10).try_fold(0i64, |acc, b| {
            let digit = CROCKFORD.iter().position(|&c| c == b)?;
            Some(acc * 32 + i64::try_from(digit).ok()?)
        })
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `byte` may be used as `byte % 62`: the 248 bytes below 248 cover every
/// residue exactly four times.
fn unbiased(byte: u8) -> bool {
    byte < 248
}

/// `len` characters, each uniform over base62: bytes ≥ 248 are rejected so that
/// `byte % 62` carries no bias.
pub(crate) fn random_base62(len: usize) -> Result<String, RandomnessError> {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        OsRng
            .try_fill_bytes(&mut buf)
            .map_err(|_| RandomnessError)?;
        for &byte in buf.iter().filter(|&&b| unbiased(b)) {
            if out.len() == len {
                break;
            }
            out.push(char::from(BASE62[usize::from(byte % 62)]));
        }
    }
    Ok(out)
}

pub(crate) fn checksum(signed: &str) -> String {
    let mut value = crc32fast::hash(signed.as_bytes());
    let mut digits = [b'0'; CHECKSUM_LEN];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

/// The token in `Bearer <token>`: the scheme in any case, whitespace around tolerated,
/// exactly one token after it.
pub fn bearer_token(header: &str) -> Option<&str> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(|c: char| c.is_ascii_whitespace())?;
    let token = rest.trim();
    let ok = scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && !token.contains(|c: char| c.is_whitespace());
    ok.then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn prefix() -> TokenPrefix {
        TokenPrefix::default()
    }

    fn new_token() -> TokenSecret {
        TokenSecret::generate(&prefix()).unwrap()
    }

    #[test]
    fn each_format_error_has_its_own_reason_for_metrics() {
        // The reasons are the `Reason` dimension of the authorizer's metrics.
        let good = new_token().expose().to_owned();
        let reason = |presented: &str| {
            TokenSecret::parse(&prefix(), presented)
                .unwrap_err()
                .reason_code()
        };
        assert_eq!(reason(&good.replacen("pgt_", "xyz_", 1)), "wrong_prefix");
        assert_eq!(reason(&good[..good.len() - 1]), "wrong_length");
        let mut bad_char = good.clone().into_bytes();
        bad_char[6] = b'-';
        assert_eq!(
            reason(&String::from_utf8(bad_char).unwrap()),
            "bad_character"
        );
        let mut bad_sum = good.into_bytes();
        bad_sum[6] = if bad_sum[6] == b'a' { b'b' } else { b'a' };
        assert_eq!(reason(&String::from_utf8(bad_sum).unwrap()), "bad_checksum");
    }

    #[test]
    fn accepted_bytes_give_every_base62_character_equally_often() {
        let mut per_residue = [0u32; 62];
        for byte in (0..=u8::MAX).filter(|&b| unbiased(b)) {
            per_residue[usize::from(byte % 62)] += 1;
        }
        assert!(per_residue.iter().all(|&n| n == 4), "{per_residue:?}");
    }

    #[test]
    fn a_token_id_displays_as_itself() {
        let id = TokenId::generate(1_700_000_000_000).unwrap();
        assert_eq!(id.to_string(), id.as_str());
        assert_eq!(id.to_string().len(), 26);
    }

    #[test]
    fn every_random_character_of_a_token_id_varies() {
        // 48 bits of time (10 characters, then 16 characters of 80 random bits).
        let ids: Vec<String> = (0..64)
            .map(|_| {
                TokenId::generate(1_700_000_000_000)
                    .unwrap()
                    .as_str()
                    .to_owned()
            })
            .collect();
        let prefixes: HashSet<&str> = ids.iter().map(|id| &id[..10]).collect();
        assert_eq!(
            prefixes.len(),
            1,
            "the time part is the same within a millisecond"
        );
        for position in 10..26 {
            let seen: HashSet<u8> = ids.iter().map(|id| id.as_bytes()[position]).collect();
            assert!(seen.len() > 1, "position {position} never changes: {ids:?}");
        }
    }

    #[test]
    fn generated_tokens_have_the_documented_shape_and_parse_back() {
        let token = new_token();
        let text = token.expose();
        assert!(text.starts_with("pgt_"));
        assert_eq!(text.len(), 4 + SECRET_LEN + CHECKSUM_LEN);
        assert_eq!(text.len(), 53);
        assert!(text[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(TokenSecret::parse(&prefix(), text).unwrap(), token);
    }

    #[test]
    fn tokens_do_not_repeat_and_use_the_whole_alphabet() {
        let mut seen = HashSet::new();
        let mut chars = HashSet::new();
        for _ in 0..2000 {
            let token = new_token();
            chars.extend(token.expose()[4..4 + SECRET_LEN].bytes());
            assert!(seen.insert(token.expose().to_owned()));
        }
        assert_eq!(
            chars.len(),
            62,
            "every base62 character should appear in 86,000 draws"
        );
    }

    #[test]
    fn secret_carries_at_least_256_bits() {
        assert!(SECRET_LEN as f64 * 62f64.log2() >= 256.0);
    }

    #[test]
    fn any_single_character_typo_is_rejected_offline() {
        let token = new_token();
        let text = token.expose().as_bytes().to_vec();
        for i in 4..text.len() {
            let mut typo = text.clone();
            typo[i] = if typo[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(typo).unwrap();
            assert_eq!(
                TokenSecret::parse(&prefix(), &typo),
                Err(TokenFormatError::BadChecksum),
                "{i}"
            );
        }
    }

    #[test]
    fn malformed_strings_are_rejected_with_a_reason() {
        let token = new_token();
        let text = token.expose();
        let other = TokenPrefix::new("acme_").unwrap();
        assert_eq!(
            TokenSecret::parse(&other, text),
            Err(TokenFormatError::WrongPrefix)
        );
        assert_eq!(
            TokenSecret::parse(&prefix(), "pgt"),
            Err(TokenFormatError::WrongPrefix)
        );
        assert_eq!(
            TokenSecret::parse(&prefix(), &text[..text.len() - 1]),
            Err(TokenFormatError::WrongLength)
        );
        assert_eq!(
            TokenSecret::parse(&prefix(), &format!("{text}0")),
            Err(TokenFormatError::WrongLength)
        );
        let mut bad = text.to_owned();
        bad.replace_range(10..11, "-");
        assert_eq!(
            TokenSecret::parse(&prefix(), &bad),
            Err(TokenFormatError::BadCharacter)
        );
        let multibyte = format!("pgt_{}é", "a".repeat(BODY_LEN - 2));
        assert!(TokenSecret::parse(&prefix(), &multibyte).is_err());
        let forged = format!("pgt_{}", "A".repeat(BODY_LEN));
        assert_eq!(
            TokenSecret::parse(&prefix(), &forged),
            Err(TokenFormatError::BadChecksum)
        );
    }

    #[test]
    fn hash_is_sha256_hex_and_differs_from_the_plaintext() {
        assert_eq!(
            TokenHash::of("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let token = new_token();
        let hash = token.hash();
        assert_eq!(hash.as_str().len(), 64);
        assert!(!hash.as_str().contains(&token.expose()[4..20]));
    }

    #[test]
    fn hint_shows_prefix_and_last_four_only() {
        let token = new_token();
        let text = token.expose();
        assert_eq!(token.hint(), format!("pgt_…{}", &text[text.len() - 4..]));
        assert_eq!(format!("{token:?}"), "TokenSecret(<redacted>)");
        assert_eq!(format!("{:?}", token.hash()), "TokenHash(<redacted>)");
    }

    #[test]
    fn token_ids_sort_by_time_round_trip_and_tell_their_time() {
        let older = TokenId::generate(1_700_000_000_000).unwrap();
        let newer = TokenId::generate(1_700_000_000_001).unwrap();
        assert!(older < newer);
        assert_eq!(older.created_millis(), Some(1_700_000_000_000));
        assert_eq!(newer.created_millis(), Some(1_700_000_000_001));
        assert_eq!(TokenId::parse(older.as_str()), Some(older.clone()));
        assert_eq!(TokenId::parse("not-an-id"), None);
        assert_eq!(TokenId::parse(&older.as_str().to_lowercase()), None);
        assert_eq!(TokenId::parse("ZZZZZZZZZZZZZZZZZZZZZZZZZZ"), None);
    }

    #[test]
    fn prefix_rules() {
        for good in [
            "pgt_",
            "a_",
            "acme_pgt_",
            "acme2_pgt_",
            "a1_b2_",
            &format!("a{}_", "b".repeat(30)),
        ] {
            assert!(TokenPrefix::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "_",
            "p",
            "pgt",
            "Pgt_",
            "1pg_",
            "_pgt_",
            "pg-t_",
            "pgt_x",
            "pgé_",
            &format!("a{}_", "b".repeat(31)),
        ] {
            assert_eq!(TokenPrefix::new(bad), Err(TokenPrefix::RULE), "{bad}");
        }
    }

    #[test]
    fn a_longer_prefix_gives_the_same_shape_checksum_and_hint() {
        let acme = TokenPrefix::new("acme_pgt_").unwrap();
        let token = TokenSecret::generate(&acme).unwrap();
        let text = token.expose();
        assert!(text.starts_with("acme_pgt_"));
        assert_eq!(text.len(), "acme_pgt_".len() + BODY_LEN);
        assert_eq!(TokenSecret::parse(&acme, text).unwrap(), token);
        assert_eq!(
            token.hint(),
            format!("acme_pgt_…{}", &text[text.len() - 4..])
        );
        // The checksum covers the prefix: the same body under another prefix fails it.
        let moved = format!("pgt_{}", &text["acme_pgt_".len()..]);
        assert_eq!(
            TokenSecret::parse(&prefix(), &moved),
            Err(TokenFormatError::BadChecksum)
        );
        assert_eq!(
            TokenSecret::parse(&prefix(), text),
            Err(TokenFormatError::WrongPrefix)
        );
    }

    #[test]
    fn accepted_prefixes_take_earlier_tokens_and_refuse_dropped_ones() {
        let acme = TokenPrefix::new("acme_pgt_").unwrap();
        let old = new_token();
        let current = TokenSecret::generate(&acme).unwrap();
        let both = AcceptedPrefixes {
            current: acme.clone(),
            earlier: vec![prefix()],
        };
        assert_eq!(both.parse(old.expose()).unwrap(), old);
        assert_eq!(both.parse(current.expose()).unwrap(), current);
        let only_new = AcceptedPrefixes {
            current: acme,
            earlier: Vec::new(),
        };
        assert_eq!(
            only_new.parse(old.expose()),
            Err(TokenFormatError::WrongPrefix)
        );
        assert_eq!(only_new.parse(current.expose()).unwrap(), current);
        // A bad checksum under a matching prefix keeps its own reason.
        let mut typo = current.expose().to_owned().into_bytes();
        let last = typo.len() - 10;
        typo[last] = if typo[last] == b'a' { b'b' } else { b'a' };
        assert_eq!(
            both.parse(&String::from_utf8(typo).unwrap()),
            Err(TokenFormatError::BadChecksum)
        );
    }

    #[test]
    fn nested_prefixes_each_claim_only_their_own_tokens() {
        // `pgt_` is a prefix of `pgt_x_`'s text, yet a body never holds `_`, so each
        // token parses under exactly one of them.
        let short = prefix();
        let long = TokenPrefix::new("pgt_x_").unwrap();
        let accepted = AcceptedPrefixes {
            current: short.clone(),
            earlier: vec![long.clone()],
        };
        let under_long = TokenSecret::generate(&long).unwrap();
        let under_short = TokenSecret::generate(&short).unwrap();
        assert_eq!(accepted.parse(under_long.expose()).unwrap(), under_long);
        assert_eq!(accepted.parse(under_short.expose()).unwrap(), under_short);
        assert!(TokenSecret::parse(&short, under_long.expose()).is_err());
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_whitespace_tolerant() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER   abc  "), Some("abc"));
        assert_eq!(bearer_token("  Bearer\tabc"), Some("abc"));
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic abc",
            "Bearerabc",
            "Bearer a b",
            "abc",
            "Token abc",
        ] {
            assert_eq!(bearer_token(bad), None, "{bad:?}");
        }
    }
}
