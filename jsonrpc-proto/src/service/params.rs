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
    // Params by position of plain scalars (`[5,3]`) are read by our own small deserializer;
    // anything it does not take (or any type that fails on it) is read by serde_json below,
    // which then decides the outcome and the error exactly.
    if let Some(v) = raw.and_then(|raw| plain::parse::<T>(raw.get())) {
        return Ok(v);
    }
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

/// Params that are a compact array of plain scalars (`null`, `true`, `false`, integers that
/// serde_json reads as `u64` or `i64`, strings without escapes), read without serde_json's
/// scanner. It hands the visitor exactly what serde_json's deserializer hands it for the same
/// text (`visit_seq`, `visit_u64` / `visit_i64`, `visit_borrowed_str`, `visit_bool`,
/// `visit_unit`, `visit_none` / `visit_some`, `visit_newtype_struct`); what serde_json treats
/// specially (enums, bytes, its private raw-value and number tokens, `-0`, integers out of
/// range) makes it give up, and then serde_json reads the params.
mod plain {
    use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, SeqAccess, Visitor};

    use crate::protocol::message::plain_scalar_len;

    type Error = serde_json::Error;

    /// Hints answered by giving up.
    macro_rules! give_up {
        ($($name:ident)*) => {$(
            hint!($name, |_s, _v| Err(give_up()));
        )*};
    }
    /// Number hints: a number is read as by `deserialize_any`, anything else gives up.
    macro_rules! number {
        ($($name:ident)*) => {$(
            hint!($name, |s: Self, v| { let n = s.is_number(); s.only(n, v) });
        )*};
    }
    /// Text hints: a string is read as by `deserialize_any`, anything else gives up.
    macro_rules! text {
        ($($name:ident)*) => {$(
            hint!($name, |s: Self, v| { let t = s.is_string(); s.only(t, v) });
        )*};
    }
    macro_rules! hint {
        ($name:ident, $f:expr) => {
            fn $name<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
                #[allow(clippy::redundant_closure_call)]
                ($f)(self, v)
            }
        };
    }

    /// `T` read from `text`, or `None`: give the text to serde_json.
    pub(super) fn parse<T: DeserializeOwned>(text: &str) -> Option<T> {
        let inner = text.strip_prefix('[')?.strip_suffix(']')?;
        T::deserialize(Array(inner)).ok()
    }

    /// Gives up (the text then goes to serde_json; the message is never shown).
    fn give_up() -> Error {
        de::Error::custom("")
    }

    /// The elements of an array, between its brackets.
    struct Array<'a>(&'a str);

    /// The elements not read yet.
    struct Elements<'a> {
        rest: &'a str,
        first: bool,
    }

    impl<'de> SeqAccess<'de> for Elements<'de> {
        type Error = Error;
        fn next_element_seed<S: DeserializeSeed<'de>>(
            &mut self,
            seed: S,
        ) -> Result<Option<S::Value>, Error> {
            if self.rest.is_empty() {
                return Ok(None);
            }
            if !self.first {
                self.rest = self.rest.strip_prefix(',').ok_or_else(give_up)?;
            }
            self.first = false;
            let len = plain_scalar_len(self.rest.as_bytes()).ok_or_else(give_up)?;
            // The scalar ends at an ASCII byte (a digit, a letter of a literal or a quote).
            let (scalar, rest) = self.rest.split_at(len);
            if !(rest.is_empty() || rest.starts_with(',')) {
                return Err(give_up());
            }
            self.rest = rest;
            seed.deserialize(Scalar(scalar)).map(Some)
        }
    }

    impl<'de> Deserializer<'de> for Array<'de> {
        type Error = Error;

        fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
            let mut elements = Elements {
                rest: self.0,
                first: true,
            };
            let value = v.visit_seq(&mut elements)?;
            // Elements left over: serde_json fails on them.
            if elements.rest.is_empty() {
                Ok(value)
            } else {
                Err(give_up())
            }
        }
        fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
            v.visit_some(self)
        }
        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            v: V,
        ) -> Result<V::Value, Error> {
            if name.starts_with("$serde_json") {
                return Err(give_up());
            }
            v.visit_newtype_struct(self)
        }
        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _: &'static str,
            _: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Error> {
            Err(give_up())
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            _: &'static [&'static str],
            v: V,
        ) -> Result<V::Value, Error> {
            if name.starts_with("$serde_json") {
                return Err(give_up());
            }
            self.deserialize_any(v)
        }
        fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
            Err(give_up())
        }
        give_up! {
            deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string deserialize_identifier
            deserialize_unit deserialize_bytes deserialize_byte_buf
        }
        fn deserialize_unit_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            _: V,
        ) -> Result<V::Value, Error> {
            Err(give_up())
        }
        serde::forward_to_deserialize_any! { seq tuple tuple_struct ignored_any }
    }

    /// One plain scalar's text.
    #[derive(Clone, Copy)]
    struct Scalar<'a>(&'a str);

    impl<'de> Deserializer<'de> for Scalar<'de> {
        type Error = Error;

        fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
            match self.0.as_bytes()[0] {
                b'n' => v.visit_unit(),
                b't' => v.visit_bool(true),
                b'f' => v.visit_bool(false),
                b'"' => v.visit_borrowed_str(&self.0[1..self.0.len() - 1]),
                // serde_json reads `-0` as a float.
                b'-' if self.0 == "-0" => Err(give_up()),
                b'-' => v.visit_i64(self.0.parse().map_err(|_| give_up())?),
                _ => v.visit_u64(self.0.parse().map_err(|_| give_up())?),
            }
        }
        fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
            if self.0 == "null" {
                v.visit_none()
            } else {
                v.visit_some(self)
            }
        }
        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            v: V,
        ) -> Result<V::Value, Error> {
            if name.starts_with("$serde_json") {
                return Err(give_up());
            }
            v.visit_newtype_struct(self)
        }
        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _: &'static str,
            _: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Error> {
            Err(give_up())
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            _: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Error> {
            Err(give_up())
        }
        fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Error> {
            Err(give_up())
        }
        fn deserialize_tuple_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            _: usize,
            _: V,
        ) -> Result<V::Value, Error> {
            Err(give_up())
        }
        // The hints serde_json answers only for one kind of token: any other kind gives up.
        fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
            self.only(matches!(self.0.as_bytes()[0], b't' | b'f'), v)
        }
        fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
            self.only(self.0 == "null", v)
        }
        fn deserialize_unit_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            v: V,
        ) -> Result<V::Value, Error> {
            self.only(self.0 == "null", v)
        }
        number! { deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32 deserialize_f64 }
        text! { deserialize_char deserialize_str deserialize_string deserialize_identifier }
        give_up! { deserialize_i128 deserialize_u128 deserialize_seq deserialize_map deserialize_bytes deserialize_byte_buf }
        serde::forward_to_deserialize_any! { ignored_any }
    }

    impl<'de> Scalar<'de> {
        fn only<V: Visitor<'de>>(self, kind_matches: bool, v: V) -> Result<V::Value, Error> {
            if kind_matches {
                self.deserialize_any(v)
            } else {
                Err(give_up())
            }
        }

        fn is_number(&self) -> bool {
            matches!(self.0.as_bytes()[0], b'-' | b'0'..=b'9')
        }

        fn is_string(&self) -> bool {
            self.0.as_bytes()[0] == b'"'
        }
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

    /// Where the plain reader takes the text, it gives what serde_json gives; `taken`: it must.
    fn same_as_serde<T>(text: &str, taken: bool)
    where
        T: DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let fast = plain::parse::<T>(text);
        let serde = serde_json::from_str::<T>(text).ok();
        assert_eq!(
            fast.is_some(),
            taken,
            "{text} as {}",
            std::any::type_name::<T>()
        );
        if fast.is_some() {
            assert_eq!(fast, serde, "{text} as {}", std::any::type_name::<T>());
        }
        // And parse_params as a whole answers as serde_json does (for a valid JSON text).
        if let Ok(r) = RawValue::from_string(text.to_owned()) {
            let whole = parse_params::<T>(Some(&r)).ok();
            if serde.is_some() {
                assert_eq!(whole, serde, "{text}");
            }
        }
    }

    /// Reads a u64 through `deserialize_u64` with a visitor that also takes text: serde_json
    /// refuses a string there, and so must the plain reader.
    #[derive(Debug, PartialEq)]
    struct Lenient(u64);

    impl<'de> Deserialize<'de> for Lenient {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Lenient;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a number")
                }
                fn visit_u64<E>(self, v: u64) -> Result<Lenient, E> {
                    Ok(Lenient(v))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Lenient, E> {
                    v.parse().map(Lenient).map_err(E::custom)
                }
            }
            d.deserialize_u64(V)
        }
    }

    #[derive(Deserialize, Debug, PartialEq)]
    enum Unit {
        A,
    }

    #[test]
    fn plain_params_read_exactly_as_serde_json_reads_them() {
        same_as_serde::<(i64, i64)>("[5,3]", true);
        same_as_serde::<(i64, i64)>("[-5,9223372036854775807]", true);
        same_as_serde::<(i64, i64)>("[-9223372036854775808,0]", true);
        same_as_serde::<(i64, i64)>("[9223372036854775808,0]", false);
        same_as_serde::<(i64, i64)>("[-9223372036854775809,0]", false);
        same_as_serde::<(i64, i64)>("[-0,1]", false);
        same_as_serde::<(u64, i64)>("[18446744073709551615,-1]", true);
        // 18 and 19 digits, on either side of the direct reading's limits
        same_as_serde::<(i64, i64)>("[-999999999999999999,999999999999999999]", true);
        same_as_serde::<(i64, u64)>("[-1000000000000000000,9999999999999999999]", true);
        same_as_serde::<(i64,)>("[9999999999999999999]", false);
        same_as_serde::<(u64,)>("[10000000000000000000]", true);
        same_as_serde::<(i64, u8)>("[0,0]", true);
        same_as_serde::<(u64,)>("[18446744073709551616]", false);
        same_as_serde::<(u64,)>("[99999999999999999999]", false);
        same_as_serde::<(i64,)>("[-99999999999999999999]", false);
        same_as_serde::<(f64,)>("[18446744073709551616]", false);
        same_as_serde::<(i64, i64)>("[5,3,1]", false);
        same_as_serde::<(i64, i64)>("[5]", false);
        same_as_serde::<(i64, i64)>("[5,]", false);
        same_as_serde::<(i64, i64)>("[05,3]", false);
        same_as_serde::<(i64, i64)>("[5.0,3]", false);
        same_as_serde::<(i64, i64)>("[5, 3]", false);
        same_as_serde::<(u8, u8)>("[255,256]", false);
        same_as_serde::<(f64, f64)>("[1,-2]", true);
        same_as_serde::<(u128,)>("[1]", false);
        same_as_serde::<(i64, String)>(r#"[1,"x, y"]"#, true);
        same_as_serde::<(i64, String)>(r#"[1,"a\"b"]"#, false);
        same_as_serde::<(String,)>("[1]", false);
        same_as_serde::<(char,)>(r#"["é"]"#, true);
        same_as_serde::<Vec<i64>>("[]", true);
        same_as_serde::<Vec<i64>>("[1,2,3]", true);
        same_as_serde::<Vec<Option<i64>>>("[1,null,3]", true);
        same_as_serde::<(bool, ())>("[true,null]", true);
        same_as_serde::<(bool,)>("[1]", false);
        same_as_serde::<((),)>("[false]", false);
        same_as_serde::<Option<(i64,)>>("[7]", true);
        same_as_serde::<Add>("[5,3]", true);
        same_as_serde::<Add>("[5]", false);
        same_as_serde::<serde_json::Value>(r#"[1,-2,"s",null,true]"#, true);
        same_as_serde::<(Lenient,)>("[1]", true);
        same_as_serde::<(Lenient,)>(r#"["1"]"#, false);
        same_as_serde::<(Unit,)>(r#"["A"]"#, false);
        assert!(plain::parse::<Box<RawValue>>("[1,2]").is_none());
        let raw_params: Box<RawValue> = parse_params(Some(&raw("[1,2]"))).unwrap();
        assert_eq!(raw_params.get(), "[1,2]");
        same_as_serde::<std::collections::HashMap<String, i64>>("[]", false);
        same_as_serde::<Vec<Vec<i64>>>("[[1]]", false);
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
