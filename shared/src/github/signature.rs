//! The signature of a GitHub secret scanning alert: ECDSA over NIST P-256 with SHA-256
//! of the raw body, DER-encoded, base64 in `Github-Public-Key-Signature`.

use base64::Engine;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};

use super::keys::VerifyingKey;

/// Length of a P-256 scalar.
const SCALAR_LEN: usize = 32;

/// The order n of P-256's base point, big-endian.
const ORDER: [u8; SCALAR_LEN] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// A signature as sent, and the scalars it encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSignature {
    der: Vec<u8>,
    r: [u8; SCALAR_LEN],
    s: [u8; SCALAR_LEN],
}

impl AlertSignature {
    /// The header's value: standard base64 of a strict DER `SEQUENCE { r, s }` of two
    /// positive integers below 2^256. `None` for anything else (no key is looked up
    /// for a string that cannot be a signature).
    pub fn from_header(value: &str) -> Option<Self> {
        let der = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()?;
        let (r, s) = parse_der(&der)?;
        Some(AlertSignature { der, r, s })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The form every valid encoding of this signature shares: `r`, then the lower of
    /// `s` and `n − s`. ECDSA accepts both `(r, s)` and `(r, n − s)`, so a replay
    /// marker keyed on the bytes as sent could be dodged by re-encoding; keyed on this
    /// it cannot.
    pub fn canonical(&self) -> [u8; 2 * SCALAR_LEN] {
        let negated = subtract(&ORDER, &self.s);
        let low = if self.s <= negated { self.s } else { negated };
        let mut out = [0u8; 2 * SCALAR_LEN];
        out[..SCALAR_LEN].copy_from_slice(&self.r);
        out[SCALAR_LEN..].copy_from_slice(&low);
        out
    }

    /// Whether this signs `body` under `key`.
    pub fn verifies(&self, key: &VerifyingKey, body: &[u8]) -> bool {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, key.point())
            .verify(body, &self.der)
            .is_ok()
    }
}

/// `a − b` for big-endian 256-bit numbers with `a ≥ b`.
fn subtract(a: &[u8; SCALAR_LEN], b: &[u8; SCALAR_LEN]) -> [u8; SCALAR_LEN] {
    let mut out = [0u8; SCALAR_LEN];
    let mut borrow = 0i16;
    for i in (0..SCALAR_LEN).rev() {
        let mut digit = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(digit < 0);
        if digit < 0 {
            digit += 256;
        }
        out[i] = u8::try_from(digit).unwrap_or(0);
    }
    out
}

/// `SEQUENCE { INTEGER r, INTEGER s }` in strict DER (short lengths suffice: the whole
/// is at most 72 bytes).
fn parse_der(der: &[u8]) -> Option<([u8; SCALAR_LEN], [u8; SCALAR_LEN])> {
    let (&tag, rest) = der.split_first()?;
    let (&len, rest) = rest.split_first()?;
    if tag != 0x30 || usize::from(len) != rest.len() || len >= 0x80 {
        return None;
    }
    let (r, rest) = integer(rest)?;
    let (s, rest) = integer(rest)?;
    rest.is_empty().then_some((r, s))
}

/// One positive, minimally encoded, non-zero INTEGER of at most 256 bits, left-padded.
fn integer(input: &[u8]) -> Option<([u8; SCALAR_LEN], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&len, rest) = rest.split_first()?;
    let len = usize::from(len);
    if tag != 0x02 || len == 0 || len > SCALAR_LEN + 1 || rest.len() < len {
        return None;
    }
    let (value, rest) = rest.split_at(len);
    let negative = value[0] & 0x80 != 0;
    let needless_zero = value.len() > 1 && value[0] == 0 && value[1] & 0x80 == 0;
    let digits = if value[0] == 0 { &value[1..] } else { value };
    if negative || needless_zero || digits.len() > SCALAR_LEN || digits.iter().all(|&b| b == 0) {
        return None;
    }
    let mut out = [0u8; SCALAR_LEN];
    out[SCALAR_LEN - digits.len()..].copy_from_slice(digits);
    Some((out, rest))
}

/// DER of `(r, s)`, for tests that re-encode a signature.
pub fn encode_der(r: &[u8; SCALAR_LEN], s: &[u8; SCALAR_LEN]) -> Vec<u8> {
    fn int(value: &[u8; SCALAR_LEN]) -> Vec<u8> {
        let start = value.iter().position(|&b| b != 0).unwrap_or(SCALAR_LEN - 1);
        let mut digits = value[start..].to_vec();
        if digits[0] & 0x80 != 0 {
            digits.insert(0, 0);
        }
        let mut out = vec![0x02, u8::try_from(digits.len()).unwrap_or(0)];
        out.extend(digits);
        out
    }
    let mut body = int(r);
    body.extend(int(s));
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap_or(0)];
    out.extend(body);
    out
}

impl AlertSignature {
    /// The scalars, for tests that re-encode a signature.
    pub fn scalars(&self) -> ([u8; SCALAR_LEN], [u8; SCALAR_LEN]) {
        (self.r, self.s)
    }

    /// `(r, n − s)`: the other valid encoding of the same signature.
    pub fn negated_s(&self) -> [u8; SCALAR_LEN] {
        subtract(&ORDER, &self.s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn der_round_trips_and_refuses_what_is_not_strict() {
        let mut r = [0u8; 32];
        r[0] = 0x80; // high bit: needs a leading zero
        let mut s = [0u8; 32];
        s[31] = 7;
        let der = encode_der(&r, &s);
        assert_eq!(parse_der(&der), Some((r, s)));
        let header = STANDARD.encode(&der);
        assert_eq!(
            AlertSignature::from_header(&header).unwrap().scalars(),
            (r, s)
        );
        // Trailing bytes, a wrong length, a negative or needlessly padded integer, zero.
        let mut trailing = der.clone();
        trailing.push(0);
        assert_eq!(parse_der(&trailing), None);
        let mut long = der.clone();
        long[1] += 1;
        assert_eq!(parse_der(&long), None);
        assert_eq!(
            parse_der(&[0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01]),
            None
        );
        assert_eq!(
            parse_der(&[0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01]),
            None
        );
        assert_eq!(
            parse_der(&[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01]),
            None
        );
        for bad in ["", "not base64!", "AAAA", &STANDARD.encode([0x30, 0x00])] {
            assert_eq!(AlertSignature::from_header(bad), None, "{bad}");
        }
    }

    #[test]
    fn both_encodings_of_a_signature_share_one_canonical_form() {
        let mut r = [0x11u8; 32];
        r[0] = 0x01;
        let mut s = [0u8; 32];
        s[0] = 0xf0; // above n/2
        s[31] = 0x05;
        let high = AlertSignature::from_header(&STANDARD.encode(encode_der(&r, &s))).unwrap();
        let negated = high.negated_s();
        let low = AlertSignature::from_header(&STANDARD.encode(encode_der(&r, &negated))).unwrap();
        assert_ne!(high.der(), low.der());
        assert_eq!(high.canonical(), low.canonical());
        assert_eq!(&low.canonical()[32..], &negated);
        // n − (n − s) = s.
        assert_eq!(subtract(&ORDER, &negated), s);
    }
}
