//! OpenRPC 1.3 service descriptions: what `#[rpc]` (feature `macros`) generates for each
//! method, what [`RouterBuilder::describe`](super::RouterBuilder::describe) takes for closure
//! routes, and what [`RouterBuilder::discover`](super::RouterBuilder::discover) serves at
//! `rpc.discover`.
//!
//! ```
//! use jsonrpc_proto::service::openrpc::{ContentDescriptor, Info, MethodDoc, OpenRpc};
//!
//! let mut add = MethodDoc::new("add");
//! add.params.push(ContentDescriptor::new("a", serde_json::json!({"type": "integer"})));
//! let doc = OpenRpc::new(Info::new("calculator", "1.0.0"), vec![add]);
//! let text = serde_json::to_string(&doc).unwrap();
//! assert!(text.starts_with(r#"{"openrpc":"1.3.2","info":{"title":"calculator""#));
//! ```

use serde::Serialize;
use serde_json::Value;

/// The OpenRPC version these documents follow.
pub const OPENRPC_VERSION: &str = "1.3.2";

/// An OpenRPC document: the service's info and its methods.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct OpenRpc {
    /// The OpenRPC version ([`OPENRPC_VERSION`]).
    pub openrpc: String,
    /// Title, version and description of the service.
    pub info: Info,
    /// The methods, in registration order.
    pub methods: Vec<MethodDoc>,
}

impl OpenRpc {
    /// A document for `info` listing `methods`.
    pub fn new(info: Info, methods: Vec<MethodDoc>) -> Self {
        OpenRpc {
            openrpc: OPENRPC_VERSION.to_owned(),
            info,
            methods,
        }
    }
}

/// The `info` object of a document.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Info {
    /// The service's title.
    pub title: String,
    /// The service's version (of the API, not of OpenRPC).
    pub version: String,
    /// A longer description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Info {
    /// Info with a title and a version.
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> Self {
        Info {
            title: title.into(),
            version: version.into(),
            description: None,
        }
    }

    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
}

/// One method of a document.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MethodDoc {
    /// The wire name.
    pub name: String,
    /// The first line of the doc comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The whole doc comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The params, in positional order.
    pub params: Vec<ContentDescriptor>,
    /// The result; `None` for a notification (OpenRPC 1.3: such a method is only called as a
    /// notification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ContentDescriptor>,
    /// Application errors the method documents.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorDoc>,
    /// How params may be given: `"either"` (by position or by name) for `#[rpc]` methods.
    #[serde(rename = "paramStructure")]
    pub param_structure: String,
    /// Other wire names reaching the same method (an `x-` extension field).
    #[serde(rename = "x-aliases", skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// For a subscribe method (its result is the subscription id): how the subscription
    /// goes on (an `x-` extension field; OpenRPC 1.3 has no word for pushes).
    #[serde(rename = "x-subscription", skip_serializing_if = "Option::is_none")]
    pub subscription: Option<SubscriptionDoc>,
}

impl MethodDoc {
    /// A method with no params, no result and no description, params `"either"`.
    pub fn new(name: impl Into<String>) -> Self {
        MethodDoc {
            name: name.into(),
            summary: None,
            description: None,
            params: Vec::new(),
            result: None,
            errors: Vec::new(),
            param_structure: "either".to_owned(),
            aliases: Vec::new(),
            subscription: None,
        }
    }
}

/// What a subscribe method's description adds ([`MethodDoc::subscription`]): the method that
/// ends it, the notification its items go out on and their schema.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SubscriptionDoc {
    /// The unsubscribe method (takes the id, answers true or false; described too).
    pub unsubscribe: String,
    /// The notification method each item goes out on, as
    /// `{"subscription": id, "result": item}`.
    pub notification: String,
    /// The items' JSON Schema (draft 7).
    pub item: Value,
}

impl SubscriptionDoc {
    /// A subscription ended by `unsubscribe`, pushing items of `item`'s schema on
    /// `notification`.
    pub fn new(
        unsubscribe: impl Into<String>,
        notification: impl Into<String>,
        item: Value,
    ) -> Self {
        SubscriptionDoc {
            unsubscribe: unsubscribe.into(),
            notification: notification.into(),
            item,
        }
    }
}

/// A named value with its JSON Schema: a param or a result.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ContentDescriptor {
    /// The param's name (the result's: `"result"`).
    pub name: String,
    /// What it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// True when the param must be given.
    pub required: bool,
    /// Its JSON Schema (draft 7).
    pub schema: Value,
}

impl ContentDescriptor {
    /// A required value named `name` with `schema`.
    pub fn new(name: impl Into<String>, schema: Value) -> Self {
        ContentDescriptor {
            name: name.into(),
            description: None,
            required: true,
            schema,
        }
    }
}

/// An application error a method documents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ErrorDoc {
    /// The error code.
    pub code: i64,
    /// Its message.
    pub message: String,
}

impl ErrorDoc {
    /// An error with a code and a message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorDoc {
            code,
            message: message.into(),
        }
    }
}
