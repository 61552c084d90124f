//! JSON request bodies read strictly: a key twice in one object is an error, not
//! "last one wins", so what a client validated and what the server stores can never
//! be two different values of the same field.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A parsed body, and the top-level key under which a duplicate key was first seen.
#[derive(Debug, Clone, PartialEq)]
pub struct StrictJson {
    pub value: Value,
    pub duplicate: Option<String>,
}

/// Parses `bytes` as JSON, noting duplicate keys at any depth.
pub fn parse(bytes: &[u8]) -> Result<StrictJson, serde_json::Error> {
    let parsed: Parsed = serde_json::from_slice(bytes)?;
    Ok(StrictJson {
        value: parsed.value,
        duplicate: parsed.duplicate,
    })
}

/// A value, and the first duplicate key found in it (for an object: the top-level key
/// that is duplicated, or that holds a duplicate deeper down).
struct Parsed {
    value: Value,
    duplicate: Option<String>,
}

impl<'de> Deserialize<'de> for Parsed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ParsedVisitor)
    }
}

struct ParsedVisitor;

fn plain(value: Value) -> Parsed {
    Parsed {
        value,
        duplicate: None,
    }
}

impl<'de> Visitor<'de> for ParsedVisitor {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Parsed, E> {
        Ok(plain(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Parsed, E> {
        Ok(plain(Value::Number(v.into())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Parsed, E> {
        Ok(plain(Value::Number(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Parsed, E> {
        Ok(plain(
            Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Parsed, E> {
        Ok(plain(Value::String(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Parsed, E> {
        Ok(plain(Value::String(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Parsed, E> {
        Ok(plain(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Parsed, E> {
        Ok(plain(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Parsed, A::Error> {
        let mut values = Vec::new();
        let mut duplicate = None;
        while let Some(element) = seq.next_element::<Parsed>()? {
            duplicate = duplicate.or(element.duplicate);
            values.push(element.value);
        }
        Ok(Parsed {
            value: Value::Array(values),
            duplicate,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let mut object = Map::new();
        let mut duplicate = None;
        while let Some(key) = map.next_key::<String>()? {
            let value: Parsed = map.next_value()?;
            if value.duplicate.is_some() || object.contains_key(&key) {
                duplicate = duplicate.or(Some(key.clone()));
            }
            object.insert(key, value.value);
        }
        Ok(Parsed {
            value: Value::Object(object),
            duplicate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dup(text: &str) -> Option<String> {
        parse(text.as_bytes()).unwrap().duplicate
    }

    #[test]
    fn duplicate_keys_are_found_at_any_depth() {
        assert_eq!(dup(r#"{"a":1,"b":2}"#), None);
        assert_eq!(dup(r#"{"a":1,"a":2}"#).as_deref(), Some("a"));
        assert_eq!(dup(r#"{"x":{"y":1,"y":1},"z":0}"#).as_deref(), Some("x"));
        assert_eq!(
            dup(r#"{"x":[{"y":1},{"y":2,"y":3}]}"#).as_deref(),
            Some("x")
        );
        assert_eq!(dup(r#"[{"k":1,"k":2}]"#).as_deref(), Some("k"));
        // Equal values are still two keys.
        assert_eq!(dup(r#"{"name":"a","name":"a"}"#).as_deref(), Some("name"));
    }

    #[test]
    fn values_parse_as_serde_json_would() {
        let text =
            r#"{"s":"é\n","n":-1,"u":18446744073709551615,"f":1.5,"b":true,"z":null,"l":[1,"2"]}"#;
        let strict = parse(text.as_bytes()).unwrap();
        let plain: Value = serde_json::from_str(text).unwrap();
        assert_eq!(strict.value, plain);
        assert!(parse(b"{\"a\":").is_err());
    }
}
