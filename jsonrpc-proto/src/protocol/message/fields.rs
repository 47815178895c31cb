//! The general reading: serde_json reads each member value as raw JSON text, validated after
//! (also what the compact fast path fills in).

use super::model::*;
use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::protocol::error::ErrorObject;
use crate::protocol::id::Id;

// Single-pass scanning: every member value is borrowed as raw JSON text and validated after.

#[derive(Default)]
pub(super) struct Fields<'a> {
    pub(super) jsonrpc: Option<Version>,
    pub(super) method: Option<StrValue<'a>>,
    pub(super) params: Option<&'a RawValue>,
    /// The id's JSON text (checked to be JSON; whether it is a valid id is judged later).
    pub(super) id: Option<&'a str>,
    /// The value of `id` when the compact scan read it as a plain unsigned integer (then
    /// `Id::from_json` would read that text as `IdNumber::Unsigned` of it); `None` says nothing.
    pub(super) id_unsigned: Option<u64>,
    pub(super) result: Option<&'a RawValue>,
    pub(super) error: Option<&'a RawValue>,
    pub(super) duplicate: bool,
}

/// `FAST`: read "jsonrpc" and "method" as strings (see [`parse`]), else as raw JSON first.
pub(super) enum Top<'a, const FAST: bool> {
    /// Validated as soon as it is read, so the raw fields are never moved around.
    Object(Entry<'a>),
    /// Members are validated as they are read: no intermediate vector.
    Array(Vec<Entry<'a>>),
    Other,
}

enum Member<'a, const FAST: bool> {
    Object(Fields<'a>),
    Other,
}

pub(super) enum Key {
    Jsonrpc,
    Method,
    Params,
    Id,
    Result,
    Error,
    Other,
}

impl Key {
    /// The member a (decoded) name stands for.
    pub(super) fn from_name(name: &str) -> Key {
        match name {
            "jsonrpc" => Key::Jsonrpc,
            "method" => Key::Method,
            "params" => Key::Params,
            "id" => Key::Id,
            "result" => Key::Result,
            "error" => Key::Error,
            _ => Key::Other,
        }
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key::from_name(v))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// The `"jsonrpc"` member, checked while it is read (no copy, no second parse).
pub(super) enum Version {
    /// The string `"2.0"` (in any spelling, escapes included).
    V2,
    /// Any other value.
    Other,
}

/// A member that must be a string (`"method"`): borrowed when it has no escapes.
pub(super) enum StrValue<'a> {
    Str(Cow<'a, str>),
    /// Present but not a string.
    Other,
}

/// Accepts any JSON value, keeping strings (`S`) and reducing everything else to `other`.
/// Reading `"jsonrpc"` and `"method"` this way instead of as `&RawValue` spares a UTF-8
/// re-validation and a second parse of each (the hottest part of `parse`, measured).
struct AnyValue<F>(F);

macro_rules! other_value {
    ($($visit:ident: $t:ty),*) => {$(
        fn $visit<E: de::Error>(self, _: $t) -> Result<Self::Value, E> {
            Ok((self.0)(None))
        }
    )*};
}

impl<'de, T, F: FnOnce(Option<Cow<'de, str>>) -> T> Visitor<'de> for AnyValue<F> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<T, E> {
        Ok((self.0)(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok((self.0)(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
        Ok((self.0)(Some(Cow::Owned(v))))
    }
    other_value!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64);
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok((self.0)(None))
    }
    // An array or object here is invalid anyway, and skipping it would not check the UTF-8 of
    // the strings inside (the raw path does): hand it to the raw path (found by the fuzzer).
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<T, A::Error> {
        Err(de::Error::custom("structured value: use the raw path"))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<T, A::Error> {
        Err(de::Error::custom("structured value: use the raw path"))
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyValue(|s: Option<Cow<'de, str>>| match s.as_deref() {
            Some(VERSION) => Version::V2,
            _ => Version::Other,
        }))
    }
}

impl<'de> Deserialize<'de> for StrValue<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyValue(|s: Option<Cow<'de, str>>| match s {
            Some(s) => StrValue::Str(s),
            None => StrValue::Other,
        }))
    }
}

fn read_fields<'de, A: MapAccess<'de>, const FAST: bool>(
    mut map: A,
) -> Result<Fields<'de>, A::Error> {
    let mut f = Fields::default();
    while let Some(key) = map.next_key::<Key>()? {
        let slot = match key {
            Key::Jsonrpc => {
                let v = if FAST {
                    map.next_value::<Version>()?
                } else {
                    match json_str(map.next_value::<&'de RawValue>()?).as_deref() {
                        Some(VERSION) => Version::V2,
                        _ => Version::Other,
                    }
                };
                f.duplicate |= f.jsonrpc.replace(v).is_some();
                continue;
            }
            Key::Method => {
                let v = if FAST {
                    map.next_value::<StrValue<'de>>()?
                } else {
                    match json_str(map.next_value::<&'de RawValue>()?) {
                        Some(s) => StrValue::Str(s),
                        None => StrValue::Other,
                    }
                };
                f.duplicate |= f.method.replace(v).is_some();
                continue;
            }
            Key::Params => &mut f.params,
            Key::Id => {
                let v = map.next_value::<&'de RawValue>()?;
                f.duplicate |= f.id.replace(v.get()).is_some();
                continue;
            }
            Key::Result => &mut f.result,
            Key::Error => &mut f.error,
            Key::Other => {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
        };
        let value = map.next_value::<&'de RawValue>()?;
        if slot.is_some() {
            f.duplicate = true;
        }
        *slot = Some(value);
    }
    Ok(f)
}

impl<'de, const FAST: bool> Deserialize<'de> for Top<'de, FAST> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const FAST: bool>;
        impl<'de, const FAST: bool> Visitor<'de> for V<FAST> {
            type Value = Top<'de, FAST>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Top<'de, FAST>, A::Error> {
                read_fields::<A, FAST>(map).map(|f| Top::Object(f.validate()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top<'de, FAST>, A::Error> {
                let mut members = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(1024));
                while let Some(m) = seq.next_element::<Member<'de, FAST>>()? {
                    members.push(match m {
                        Member::Object(fields) => fields.validate(),
                        Member::Other => Err(Invalid {
                            id: Id::Null,
                            kind: InvalidKind::Request,
                            reason: "batch member is not an object",
                        }),
                    });
                }
                Ok(Top::Array(members))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top<'de, FAST>, E> {
                Ok(Top::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top<'de, FAST>, E> {
                Ok(Top::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top<'de, FAST>, E> {
                Ok(Top::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top<'de, FAST>, E> {
                Ok(Top::Other)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Top<'de, FAST>, E> {
                Ok(Top::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Top<'de, FAST>, E> {
                Ok(Top::Other)
            }
        }
        d.deserialize_any(V::<FAST>)
    }
}

impl<'de, const FAST: bool> Deserialize<'de> for Member<'de, FAST> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const FAST: bool>;
        impl<'de, const FAST: bool> Visitor<'de> for V<FAST> {
            type Value = Member<'de, FAST>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Member<'de, FAST>, A::Error> {
                read_fields::<A, FAST>(map).map(Member::Object)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Member<'de, FAST>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Member::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Member<'de, FAST>, E> {
                Ok(Member::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Member<'de, FAST>, E> {
                Ok(Member::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Member<'de, FAST>, E> {
                Ok(Member::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Member<'de, FAST>, E> {
                Ok(Member::Other)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Member<'de, FAST>, E> {
                Ok(Member::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Member<'de, FAST>, E> {
                Ok(Member::Other)
            }
        }
        d.deserialize_any(V::<FAST>)
    }
}

/// Reads a JSON string value, borrowing it when it has no escapes (the slow path of [`parse`]).
fn json_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let bytes = text.as_bytes();
    if bytes.len() >= 2 && bytes[0] == b'"' && bytes[bytes.len() - 1] == b'"' {
        if !bytes.contains(&b'\\') {
            return Some(Cow::Borrowed(&text[1..text.len() - 1]));
        }
        return serde_json::from_str::<String>(text).ok().map(Cow::Owned);
    }
    None
}

fn is_structured(raw: &RawValue) -> bool {
    matches!(raw.get().as_bytes().first(), Some(b'[') | Some(b'{'))
}

impl<'a> Fields<'a> {
    pub(super) fn validate(self) -> Entry<'a> {
        let is_response = self.method.is_none() && (self.result.is_some() || self.error.is_some());
        let kind = if is_response {
            InvalidKind::Response
        } else {
            InvalidKind::Request
        };
        // The id as far as it can be read: `None` when absent, `Some(None)` when not an id.
        let id: Option<Option<Id>> = match (self.id, self.id_unsigned) {
            (Some(_), Some(n)) => Some(Some(Id::from(n))),
            (text, _) => text.map(Id::from_json),
        };
        let echo = || id.clone().flatten().unwrap_or(Id::Null);
        let invalid = |reason: &'static str| {
            Err(Invalid {
                id: echo(),
                kind,
                reason,
            })
        };

        if self.duplicate {
            return invalid("a member appears more than once");
        }
        match self.jsonrpc {
            None => return invalid("missing member \"jsonrpc\""),
            Some(Version::V2) => {}
            Some(Version::Other) => return invalid("\"jsonrpc\" must be exactly \"2.0\""),
        }
        if let Some(method) = self.method {
            let StrValue::Str(method) = method else {
                return invalid("\"method\" must be a string");
            };
            if self.result.is_some() || self.error.is_some() {
                return invalid("a request cannot carry \"result\" or \"error\"");
            }
            let params = match self.params {
                None => None,
                Some(p) if is_structured(p) => Some(Cow::Borrowed(p)),
                Some(_) => return invalid("\"params\" must be an array or an object"),
            };
            return match id {
                None => Ok(Message::Notification(Notification { method, params })),
                Some(Some(id)) => Ok(Message::Request(Request { id, method, params })),
                Some(None) => invalid("\"id\" must be a string, a number or null"),
            };
        }
        if !is_response {
            return invalid("missing member \"method\"");
        }
        if self.params.is_some() {
            return invalid("a response cannot carry \"params\"");
        }
        let result = match (self.result, self.error) {
            (Some(r), None) => Ok(Cow::Borrowed(r)),
            (None, Some(e)) => {
                if !e.get().starts_with('{') {
                    return invalid("\"error\" must be an object");
                }
                match serde_json::from_str::<ErrorObject>(e.get()) {
                    Ok(err) => Err(err),
                    Err(_) => {
                        return invalid(
                            "\"error\" needs an integer \"code\" and a string \"message\"",
                        )
                    }
                }
            }
            _ => return invalid("a response has exactly one of \"result\" and \"error\""),
        };
        let reason = match id {
            Some(Some(id)) => return Ok(Message::Response(Response { id, result })),
            Some(None) => "\"id\" must be a string, a number or null",
            None => "a response must carry \"id\"",
        };
        Err(Invalid {
            id: Id::Null,
            kind,
            reason,
        })
    }
}
