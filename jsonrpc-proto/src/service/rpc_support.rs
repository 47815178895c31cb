//! Runtime support for the `#[rpc]` macro (feature `macros`): reading params one by one with
//! errors that name the parameter, typed batch answers, and JSON Schemas for the OpenRPC
//! document. Applications name [`BatchSlot`] (what a typed call inside a batch returns) and
//! [`ParamReader`] (when decoding params by hand the way the macro does); the rest is for the
//! macro's expansion.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::peer::{Client, ClientError, Context};
use crate::protocol::error::ErrorObject;

use super::router::RouterBuilder;
use super::subscription::PendingSubscription;

/// The params of one call, read parameter by parameter: by position (`[5, 3]`) or by name
/// (`{"a": 5, "b": 3}`). Every error is -32602 with a message naming the parameter.
///
/// ```
/// use jsonrpc_proto::service::ParamReader;
/// use jsonrpc_proto::RawValue;
///
/// let raw = RawValue::from_string(r#"{"a": 5, "b": "x"}"#.to_owned()).unwrap();
/// let mut p = ParamReader::new(Some(&raw), &["a", "b"], 2).unwrap();
/// assert_eq!(p.required::<i64>(0).unwrap(), 5);
/// let e = p.required::<i64>(1).unwrap_err();
/// assert!(e.message.starts_with("Invalid params: parameter `b`: invalid type"));
///
/// let raw = RawValue::from_string(r#"{"a": 5, "c": 1}"#.to_owned()).unwrap();
/// let e = ParamReader::new(Some(&raw), &["a", "b"], 2).unwrap_err();
/// assert_eq!(e.message, "Invalid params: unknown parameter `c` (expected: a, b)");
///
/// // Absent params: every parameter is missing, so only all-optional methods accept them.
/// let mut p = ParamReader::new(None, &["a"], 0).unwrap();
/// assert_eq!(p.optional::<i64>(0).unwrap(), None);
/// let raw = RawValue::from_string("7".to_owned()).unwrap();
/// let e = ParamReader::new(Some(&raw), &["a"], 1).unwrap_err();
/// assert_eq!(e.message, "Invalid params: params must be an array or an object");
/// ```
pub struct ParamReader<'a> {
    names: &'static [&'static str],
    values: Vec<Option<Cow<'a, RawValue>>>,
}

impl fmt::Debug for ParamReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParamReader")
            .field("names", &self.names)
            .finish()
    }
}

/// A params object, its keys possibly escaped.
#[derive(Deserialize)]
#[serde(transparent)]
struct Named<'a>(#[serde(borrow)] BTreeMap<Cow<'a, str>, &'a RawValue>);

impl<'a> ParamReader<'a> {
    /// Splits `raw` into the parameters `names` (in positional order). `required` is how many
    /// leading parameters a positional call must give (the rest are trailing `Option`s).
    /// Errors: params that are neither an array nor an object, too many or too few positional
    /// params, an unknown name.
    pub fn new(
        raw: Option<&'a RawValue>,
        names: &'static [&'static str],
        required: usize,
    ) -> Result<Self, ErrorObject> {
        Self::read(raw, names, required, true)
    }

    /// Like [`ParamReader::new`], but names that are not parameters are skipped instead of
    /// refused (`#[rpc(unknown_params = "ignore")]`, for services whose callers send extra
    /// members).
    pub fn ignoring_unknown(
        raw: Option<&'a RawValue>,
        names: &'static [&'static str],
        required: usize,
    ) -> Result<Self, ErrorObject> {
        Self::read(raw, names, required, false)
    }

    fn read(
        raw: Option<&'a RawValue>,
        names: &'static [&'static str],
        required: usize,
        strict: bool,
    ) -> Result<Self, ErrorObject> {
        let mut values: Vec<Option<Cow<'a, RawValue>>> = vec![None; names.len()];
        let Some(raw) = raw else {
            return Ok(ParamReader { names, values });
        };
        let text = raw.get().trim_start();
        if text.starts_with('[') {
            let items: Vec<&'a RawValue> = serde_json::from_str(raw.get())
                .map_err(|e| ErrorObject::invalid_params(format!("params: {e}")))?;
            if items.len() > names.len() {
                return Err(ErrorObject::invalid_params(format!(
                    "expected at most {} parameter{}, got {}",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    items.len()
                )));
            }
            if items.len() < required {
                return Err(missing(names[items.len()]));
            }
            for (slot, item) in values.iter_mut().zip(items) {
                *slot = Some(Cow::Borrowed(item));
            }
        } else if text.starts_with('{') {
            let Named(map) = serde_json::from_str(raw.get())
                .map_err(|e| ErrorObject::invalid_params(format!("params: {e}")))?;
            for (key, value) in map {
                match names.iter().position(|n| *n == key) {
                    Some(i) => values[i] = Some(Cow::Borrowed(value)),
                    None if !strict => {}
                    None if names.is_empty() => {
                        return Err(ErrorObject::invalid_params(format!(
                            "unknown parameter `{key}` (this method takes no params)"
                        )))
                    }
                    None => {
                        return Err(ErrorObject::invalid_params(format!(
                            "unknown parameter `{key}` (expected: {})",
                            names.join(", ")
                        )))
                    }
                }
            }
        } else {
            return Err(ErrorObject::invalid_params(
                "params must be an array or an object",
            ));
        }
        Ok(ParamReader { names, values })
    }

    /// Reads parameter `index`, which must be given (`null` is given: it reads as `T` if `T`
    /// accepts it).
    pub fn required<T: DeserializeOwned>(&mut self, index: usize) -> Result<T, ErrorObject> {
        match self.values.get_mut(index).and_then(Option::take) {
            Some(raw) => decode(self.names[index], &raw),
            None => Err(missing(self.names.get(index).copied().unwrap_or("?"))),
        }
    }

    /// Reads optional parameter `index`: absent or `null` is `None`.
    pub fn optional<T: DeserializeOwned>(
        &mut self,
        index: usize,
    ) -> Result<Option<T>, ErrorObject> {
        match self.values.get_mut(index).and_then(Option::take) {
            Some(raw) => decode(self.names[index], &raw),
            None => Ok(None),
        }
    }
}

fn missing(name: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!("missing required parameter `{name}`"))
}

fn decode<T: DeserializeOwned>(name: &str, raw: &RawValue) -> Result<T, ErrorObject> {
    serde_json::from_str(raw.get()).map_err(|e| {
        let text = e.to_string();
        let text = match text.rfind(" at line ") {
            Some(i) if e.line() > 0 => &text[..i],
            _ => &text[..],
        };
        ErrorObject::invalid_params(format!("parameter `{name}`: {text}"))
    })
}

/// The answer of one typed call inside a batch: returned by the generated `…Batch` methods,
/// read from [`BatchBuilder::send`](crate::peer::BatchBuilder::send)'s answers with
/// [`BatchSlot::take`].
#[must_use = "read the answer with BatchSlot::take after sending the batch"]
pub struct BatchSlot<T> {
    index: usize,
    _type: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for BatchSlot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchSlot")
            .field("index", &self.index)
            .finish()
    }
}

impl<T: DeserializeOwned> BatchSlot<T> {
    /// The slot of the request at `index` in the batch's results.
    pub fn new(index: usize) -> Self {
        BatchSlot {
            index,
            _type: PhantomData,
        }
    }

    /// The request's position in the batch's results.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Takes this call's answer out of the batch's answers and reads it as `T`. An answer
    /// taken twice (or a slot of another batch) is an error, never a panic.
    pub fn take(
        self,
        answers: &mut [Result<Box<RawValue>, ClientError>],
    ) -> Result<T, ClientError> {
        let gone = || {
            ClientError::Deserialize(serde::de::Error::custom(format!(
                "no answer at position {} (taken already, or a slot of another batch)",
                self.index
            )))
        };
        let slot = answers.get_mut(self.index).ok_or_else(gone)?;
        match std::mem::replace(slot, Err(gone())) {
            Ok(raw) => serde_json::from_str(raw.get()).map_err(ClientError::Deserialize),
            Err(e) => Err(e),
        }
    }
}

/// Sends a notification from a generated client: at once, the returned future is ready.
#[doc(hidden)]
pub fn notify<P: Serialize>(
    client: &Client,
    method: &str,
    params: P,
) -> std::future::Ready<Result<(), ClientError>> {
    let sent = match serde_json::value::to_raw_value(&params) {
        Ok(raw) if raw.get() == "null" => client.notify_raw(method, None),
        Ok(raw) => client.notify_raw(method, Some(&raw)),
        Err(e) => Err(ClientError::Params(e.to_string())),
    };
    std::future::ready(sent)
}

/// Logs a notification dropped because its params did not read.
#[doc(hidden)]
pub fn notification_dropped(method: &str, error: &ErrorObject) {
    tracing::debug!(method, error = %error, "notification dropped: invalid params");
}

/// The schema of `T` when it implements `schemars::JsonSchema`, else `true` (any value):
/// chosen at compile time (autoref specialization), so types without a schema still work.
#[doc(hidden)]
pub struct SchemaProbe<T: ?Sized>(PhantomData<fn() -> T>);

impl<T: ?Sized> SchemaProbe<T> {
    /// A probe for `T`.
    pub fn new() -> Self {
        SchemaProbe(PhantomData)
    }
}

impl<T: ?Sized> Default for SchemaProbe<T> {
    fn default() -> Self {
        SchemaProbe::new()
    }
}

/// Draft-07 settings with every subschema inline (an OpenRPC content descriptor's schema
/// stands alone).
#[doc(hidden)]
pub fn schema_generator() -> schemars::SchemaGenerator {
    let mut settings = schemars::generate::SchemaSettings::draft07();
    settings.inline_subschemas = true;
    settings.meta_schema = None;
    schemars::SchemaGenerator::new(settings)
}

/// Picked when `T: JsonSchema`.
#[doc(hidden)]
pub trait ViaJsonSchema {
    /// `T`'s schema.
    fn schema_value(&self, gen: &mut schemars::SchemaGenerator) -> Value;
}

impl<T: schemars::JsonSchema + ?Sized> ViaJsonSchema for &SchemaProbe<T> {
    fn schema_value(&self, gen: &mut schemars::SchemaGenerator) -> Value {
        gen.subschema_for::<T>().to_value()
    }
}

/// The fallback: any value.
#[doc(hidden)]
pub trait ViaAnyValue {
    /// `true`: any value.
    fn schema_value(&self, gen: &mut schemars::SchemaGenerator) -> Value;
}

impl<T: ?Sized> ViaAnyValue for SchemaProbe<T> {
    fn schema_value(&self, _gen: &mut schemars::SchemaGenerator) -> Value {
        Value::Bool(true)
    }
}

/// Registers a `#[subscription]` method: every subscribe name, every unsubscribe name (the
/// first is the kind of subscription the others end too), the notification method, and
/// `make`, which decodes the params and gives the handler's future (`Err`: the call is
/// answered with it at once, typically -32602 naming the parameter).
#[doc(hidden)]
pub fn subscription<M, Fut>(
    builder: RouterBuilder,
    subscribe: &[&str],
    unsubscribe: &[&str],
    notification: &str,
    make: M,
) -> RouterBuilder
where
    M: Fn(Context, Option<&RawValue>, PendingSubscription) -> Result<Fut, ErrorObject>
        + Send
        + Sync
        + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    builder.subscription_names(subscribe, unsubscribe, notification, make)
}

/// Registers a synchronous `#[rpc]` method: `make` reads the params (borrowed from the
/// frame) and answers at once, on the connection's task.
#[doc(hidden)]
pub fn method_sync<T, F>(builder: RouterBuilder, name: &str, make: F) -> RouterBuilder
where
    F: Fn(Context, Option<&RawValue>) -> Result<T, ErrorObject> + Send + Sync + 'static,
    T: Serialize + 'static,
{
    builder.method_decoded_sync(name, make)
}

/// The schema of a subscription id (a string) in the OpenRPC document.
#[doc(hidden)]
pub fn subscription_id_schema() -> Value {
    serde_json::json!({ "type": "string" })
}

/// What the macro's expansion names: kept stable whatever moves inside the crate.
#[doc(hidden)]
pub mod __private {
    pub use super::{
        method_sync, notification_dropped, notify, schema_generator, subscription,
        subscription_id_schema, SchemaProbe, ViaAnyValue, ViaJsonSchema,
    };
    pub use serde;
    pub use serde_json;
    pub use serde_json::value::RawValue;
    pub use std::sync::Arc;

    /// Turns a handler's output into the router's result type.
    pub fn ok<T>(value: T) -> Result<T, crate::ErrorObject> {
        Ok(value)
    }

    /// Turns a handler's `Result<T, E>` into the router's result type.
    pub fn result<T, E: Into<crate::ErrorObject>>(
        value: Result<T, E>,
    ) -> Result<T, crate::ErrorObject> {
        value.map_err(Into::into)
    }
}
