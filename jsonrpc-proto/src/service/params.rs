//! Typed params: one serde type reads params given by position (`[5,3]`) or by name
//! (`{"a":5,"b":3}`), and absent params read as "nothing" (`()`, `Option`, an all-optional struct,
//! an empty `Vec`).

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;

use crate::protocol::error::ErrorObject;

/// The raw params of a call, with helpers to read them as a typed value.
#[derive(Clone, Copy, Debug)]
pub struct Params<'a>(pub Option<&'a RawValue>);

impl<'a> Params<'a> {
    /// Wraps raw params (`None`: the call had no `params` member).
    pub fn new(raw: Option<&'a RawValue>) -> Self {
        Params(raw)
    }

    /// True when the call had no `params` member.
    pub fn is_absent(&self) -> bool {
        self.0.is_none()
    }

    /// The raw JSON text, if any.
    pub fn get(&self) -> Option<&'a str> {
        self.0.map(RawValue::get)
    }

    /// Reads the params as `T`; an error is the -32602 object with serde's message.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ErrorObject> {
        parse_params(self.0)
    }
}

/// Reads params as `T`: by position or by name through serde; absent params read as an empty
/// value. Errors become -32602 "Invalid params: {serde's message}".
pub fn parse_params<T: DeserializeOwned>(raw: Option<&RawValue>) -> Result<T, ErrorObject> {
    match raw {
        Some(raw) => serde_json::from_str(raw.get()).or_else(|e| {
            // `[]` and `{}` carry nothing, like absent params: a handler taking `()` or an
            // all-optional struct accepts them too.
            if is_empty_structure(raw.get()) {
                T::deserialize(Absent).map_err(|_| invalid(e))
            } else {
                Err(invalid(e))
            }
        }),
        None => T::deserialize(Absent).map_err(invalid),
    }
}

fn is_empty_structure(text: &str) -> bool {
    let inner = text.trim();
    let inner = inner
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .or_else(|| inner.strip_prefix('{').and_then(|t| t.strip_suffix('}')));
    inner.is_some_and(|t| t.trim().is_empty())
}

/// -32602 with serde's message, without the position inside the params text (" at line 1
/// column 7" means nothing to a caller).
fn invalid(e: serde_json::Error) -> ErrorObject {
    let text = e.to_string();
    let text = match text.rfind(" at line ") {
        Some(i) if e.line() > 0 => &text[..i],
        _ => &text[..],
    };
    ErrorObject::invalid_params(text)
}

/// A deserializer standing for absent params: unit / none / an empty sequence / an empty map,
/// whichever the target type asks for.
struct Absent;

struct Empty;

impl<'de> SeqAccess<'de> for Empty {
    type Error = serde_json::Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        _seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        Ok(None)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(0)
    }
}

impl<'de> MapAccess<'de> for Empty {
    type Error = serde_json::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        _seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        Ok(None)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        _seed: V,
    ) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("no value"))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(0)
    }
}

impl<'de> Deserializer<'de> for Absent {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_unit()
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_none()
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        v.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_seq(Empty)
    }
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        v.visit_seq(Empty)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        v.visit_seq(Empty)
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_map(Empty)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        v.visit_map(Empty)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Add {
        a: i64,
        b: i64,
    }

    #[derive(Deserialize, Debug, PartialEq, Default)]
    struct Opt {
        a: Option<i64>,
        #[serde(default)]
        b: Vec<u8>,
    }

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn empty_structures_read_like_absent_params() {
        let () = parse_params(Some(&raw("[]"))).unwrap();
        let () = parse_params(Some(&raw("{ }"))).unwrap();
        let o: Opt = parse_params(Some(&raw("[]"))).unwrap();
        assert_eq!(o, Opt::default());
        let e = parse_params::<()>(Some(&raw("[1]"))).unwrap_err();
        assert_eq!(e.code.0, -32602);
        let e = parse_params::<Add>(Some(&raw("[]"))).unwrap_err();
        assert_eq!(e.code.0, -32602);
    }

    #[test]
    fn by_position_and_by_name() {
        let p: Add = parse_params(Some(&raw("[5,3]"))).unwrap();
        assert_eq!(p, Add { a: 5, b: 3 });
        let p: Add = parse_params(Some(&raw(r#"{"b":3,"a":5}"#))).unwrap();
        assert_eq!(p, Add { a: 5, b: 3 });
        let t: (i64, String) = parse_params(Some(&raw(r#"[1,"x"]"#))).unwrap();
        assert_eq!(t, (1, "x".to_owned()));
    }

    #[test]
    fn absent_params() {
        let () = parse_params(None).unwrap();
        let o: Opt = parse_params(None).unwrap();
        assert_eq!(o, Opt::default());
        let v: Vec<u32> = parse_params(None).unwrap();
        assert!(v.is_empty());
        let n: Option<Add> = parse_params(None).unwrap();
        assert_eq!(n, None);
        let e = parse_params::<Add>(None).unwrap_err();
        assert_eq!(e.code.0, -32602);
        assert!(e.message.contains("missing field `a`"), "{}", e.message);
    }

    #[test]
    fn bad_params_carry_serde_message() {
        let e = parse_params::<Add>(Some(&raw(r#"{"a":"x","b":1}"#))).unwrap_err();
        assert_eq!(e.code.0, -32602);
        assert!(
            e.message
                .starts_with("Invalid params: invalid type: string"),
            "{}",
            e.message
        );
        let e = parse_params::<Add>(Some(&raw("[1]"))).unwrap_err();
        assert!(e.message.contains("invalid length 1"), "{}", e.message);
    }
}
