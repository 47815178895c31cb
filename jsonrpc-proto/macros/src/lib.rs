//! The `#[rpc]` attribute of `jsonrpc-proto` (use it as `jsonrpc_proto::rpc` with the
//! `macros` feature; its documentation is there).
//!
//! One trait of `async fn`s gives:
//! - the trait itself, each method returning `impl Future + Send`, plus a provided
//!   `into_router(self) -> RouterBuilder` serving every method;
//! - `{Trait}Client`, implemented for `jsonrpc_proto::peer::Client`: typed calls;
//! - `{Trait}Batch`, implemented for `jsonrpc_proto::peer::BatchBuilder`: typed calls inside a
//!   batch;
//! - the OpenRPC description of every method, carried by the builder and served at
//!   `rpc.discover` when `RouterBuilder::discover` is called;
//! - for `#[subscription]` methods, a subscribe/unsubscribe pair on the router and a typed
//!   `Subscription<Item>` on the client.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{
    Attribute, Expr, ExprLit, FnArg, GenericArgument, Ident, ItemTrait, Lit, LitInt, LitStr, Meta,
    Pat, PathArguments, ReturnType, Token, TraitItem, TraitItemFn, Type,
};

/// One trait of `async fn`s (and plain `fn`s for methods that answer at once): the server, a
/// typed client, typed batch calls and the OpenRPC document.
///
/// ```
/// use jsonrpc_proto::peer::{Runtime, Server, ServerConfig};
/// use jsonrpc_proto::service::openrpc::Info;
/// use jsonrpc_proto::service::Context;
/// use jsonrpc_proto::{rpc, ErrorObject};
///
/// /// A calculator.
/// #[rpc]
/// pub trait Calc {
///     /// Adds two integers.
///     async fn add(&self, a: i64, b: i64) -> i64;
///
///     /// Divides; by zero is an error (any `E: Into<ErrorObject>`).
///     #[method(name = "div", aliases = ["divide"])]
///     async fn divide(&self, a: f64, b: f64) -> Result<f64, ErrorObject>;
///
///     /// Greets; a trailing `Option` may be left out by the caller.
///     async fn greet(&self, ctx: Context, name: String, title: Option<String>) -> String;
///
///     /// Prints a line (a notification: no answer).
///     #[method(notification)]
///     async fn log(&self, line: String);
/// }
///
/// struct CalcService;
///
/// impl Calc for CalcService {
///     async fn add(&self, a: i64, b: i64) -> i64 {
///         a + b
///     }
///     async fn divide(&self, a: f64, b: f64) -> Result<f64, ErrorObject> {
///         if b == 0.0 {
///             return Err(ErrorObject::invalid_params("division by zero"));
///         }
///         Ok(a / b)
///     }
///     async fn greet(&self, ctx: Context, name: String, title: Option<String>) -> String {
///         let _ = ctx.client_id();
///         format!("Hello, {}{name}!", title.map(|t| t + " ").unwrap_or_default())
///     }
///     async fn log(&self, line: String) {
///         println!("{line}");
///     }
/// }
///
/// # #[derive(Clone)]
/// # struct Pool(futures::executor::ThreadPool);
/// # impl Runtime for Pool {
/// #     fn spawn(&self, task: futures::future::BoxFuture<'static, ()>) { self.0.spawn_ok(task) }
/// #     fn sleep_until(&self, _: std::time::Instant) -> futures::future::BoxFuture<'static, ()> {
/// #         Box::pin(futures::future::pending())
/// #     }
/// # }
/// # let rt = Pool(futures::executor::ThreadPool::new().unwrap());
/// // Server: the service becomes a RouterBuilder (merge it with others, add hooks, build).
/// let router = CalcService
///     .into_router()
///     .discover(Info::new("calc", "1.0.0")) // serve the OpenRPC document at rpc.discover
///     .build()
///     .unwrap();
/// let server = Server::new(router, rt.clone(), ServerConfig::default());
/// // Any Client (HTTP, WebSocket, TCP, stdio, memory; tokio or smol) has the typed calls.
/// let client = transport_memory::serve_memory(&server, rt);
/// futures::executor::block_on(async {
///     assert_eq!(client.add(5, 3).await?, 8);
///     assert_eq!(client.greet("Ann".into(), None).await?, "Hello, Ann!");
///     client.log("hi".into()).await?;
///
///     let mut batch = client.batch();
///     let sum = CalcBatch::add(&mut batch, 1, 2);
///     let quotient = batch.divide(1.0, 0.0);
///     let mut answers = batch.send().await?;
///     assert_eq!(sum.take(&mut answers)?, 3);
///     assert_eq!(quotient.take(&mut answers).unwrap_err().as_rpc().unwrap().code.0, -32602);
///
///     let doc: serde_json::Value = client.request("rpc.discover", ()).await?;
///     assert_eq!(doc["methods"][1]["name"], "div");
///     Ok::<_, jsonrpc_proto::peer::ClientError>(())
/// })
/// .unwrap();
/// ```
///
/// # What it generates
/// - The trait, each `async fn` turned into `fn .. -> impl Future<Output = ..> + Send` (so
///   handlers run on multi-threaded runtimes; plain `fn`s stay as they are); implement it
///   with plain `async fn`s. A
///   provided method `into_router(self) -> RouterBuilder` registers every method on a builder
///   that carries their OpenRPC descriptions ([`RouterBuilder::discover`] serves them,
///   [`RouterBuilder::merge`] combines services, possibly from separate crates).
/// - `{Trait}Client`, implemented for `jsonrpc_proto::peer::Client`: one method per RPC method
///   returning `ResponseFuture<T>` (sent at once; `.await` the answer), and per notification
///   one returning a ready `Result<(), ClientError>` future.
/// - `{Trait}Batch`, implemented for `BatchBuilder`: requests give a `BatchSlot<T>` to
///   `take` from the answers of `send`; notifications return the builder.
///
/// # Methods
/// - `&self` first; then, if the method wants it, the call's `Context` (a parameter whose type
///   is named `Context`); then the params, owned types implementing `Deserialize` (server)
///   and `Serialize` (client). The parameter's name is its name on the wire.
/// - Params come by position (`[5, 3]`) or by name (`{"a": 5, "b": 3}`); trailing `Option`
///   params may be left out (by name, any `Option` may). An unknown name, a missing required
///   param or a wrong type is -32602 with a message naming the parameter, e.g.
///   ``Invalid params: parameter `b`: invalid type: string "x", expected i64``.
/// - The result is any `Serialize + DeserializeOwned` type, or `Result<T, E>` with
///   `E: Into<ErrorObject>` (the error object goes out exactly).
/// - A plain `fn` (not `async`) is a method that answers at once, as
///   [`RouterBuilder::method_sync`]: it stays as written in the trait and runs on the
///   connection's task when the call is read, with no future allocated or polled (jsonrpsee's
///   `register_method`). It must not block: anything that waits belongs in an `async fn`.
///   Notifications and subscriptions are always `async fn`. The client side is the same for
///   both forms.
/// - Doc comments become the OpenRPC summary (first line) and description; param and result
///   schemas come from `schemars::JsonSchema` where the type implements it, else "any value".
///
/// # Options
/// On the trait, `#[rpc(..)]`:
/// - `namespace = "math"`: every wire name becomes `math.{name}`
///   (`namespace_separator = "_"` for `math_{name}`);
/// - `naming = "spark"`: the Spark RpcNode rule: `.`, `-`, `_` and `#` are one separator, so
///   `user.create`, `user-create` and `user_create` reach `user_create`;
/// - `unknown_params = "ignore"`: named params that are not parameters are skipped instead of
///   refused.
///
/// On a method, `#[method(..)]`:
/// - `name = "wire.name"` and `aliases = ["other", ..]`;
/// - `notification`: no answer (no return type); called as a request it is -32601;
/// - `raw`: the one parameter, `params: Option<Box<RawValue>>`, gets the params as sent;
/// - `error(code = -32000, message = "..")`, repeatable: documented in the OpenRPC document.
///
/// # Subscriptions
/// A method marked `#[subscription(unsubscribe = "..", item = Type)]` takes `&self`, the
/// [`PendingSubscription`] (accept it for a sink, or reject it), then its params (read as for
/// any method: bad params are answered -32602 naming the parameter before it runs). It
/// returns nothing. The generated client gets a method returning
/// `impl Future<Output = Result<Subscription<Type>, ClientError>>`.
///
/// ```
/// use jsonrpc_proto::rpc;
/// use jsonrpc_proto::service::PendingSubscription;
///
/// #[rpc(namespace = "clock")]
/// pub trait Clock {
///     /// One tick per item, `n` of them.
///     #[subscription(name = "subscribe", unsubscribe = "unsubscribe", notification = "tick",
///                    item = u64)]
///     async fn ticks(&self, pending: PendingSubscription, n: u64);
/// }
///
/// struct ClockService;
///
/// impl Clock for ClockService {
///     async fn ticks(&self, pending: PendingSubscription, n: u64) {
///         let Ok(sink) = pending.accept() else { return };
///         for i in 0..n {
///             if sink.send(i).await.is_err() {
///                 return; // unsubscribed or disconnected
///             }
///         }
///     }
/// }
///
/// let router = ClockService.into_router().build().unwrap();
/// assert!(router.has_method("clock.subscribe") && router.has_method("clock.unsubscribe"));
/// // Client side: `let sub: Subscription<u64> = client.ticks(10).await?;`
/// ```
///
/// Options: `name = ".."` (default: the function's name) and `aliases = [..]`;
/// `unsubscribe = ".."` (required) and `unsubscribe_aliases = [..]`; `notification = ".."`
/// (the method items go out on; default: the subscribe name); `item = Type` (required).
/// The trait's namespace and naming rule apply to all of them. The OpenRPC document lists
/// the subscribe method (result: the id; `x-subscription`: the unsubscribe and notification
/// names and the item's schema) and the unsubscribe method. Subscriptions are not part of
/// the `{Trait}Batch` trait.
///
/// Mistakes are compile errors that say what to write instead: a method that is not
/// `async`, without `&self`, generic, taking borrowed params, a notification with a result,
/// a reserved `rpc.` name, or two methods answering the same name; a subscription without
/// `item` or `unsubscribe`, without its `PendingSubscription` first, with a return type or
/// a `Context` parameter.
///
/// [`PendingSubscription`]: https://docs.rs/jsonrpc-proto/latest/jsonrpc_proto/service/struct.PendingSubscription.html
///
/// [`RouterBuilder::discover`]: https://docs.rs/jsonrpc-proto/latest/jsonrpc_proto/service/struct.RouterBuilder.html#method.discover
/// [`RouterBuilder::merge`]: https://docs.rs/jsonrpc-proto/latest/jsonrpc_proto/service/struct.RouterBuilder.html#method.merge
/// [`RouterBuilder::method_sync`]: https://docs.rs/jsonrpc-proto/latest/jsonrpc_proto/service/struct.RouterBuilder.html#method.method_sync
#[proc_macro_attribute]
pub fn rpc(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Options of `#[rpc(...)]`.
#[derive(Default)]
struct TraitOptions {
    namespace: Option<String>,
    separator: Option<String>,
    spark: bool,
    ignore_unknown: bool,
}

impl Parse for TraitOptions {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut opts = TraitOptions::default();
        let metas = Punctuated::<Meta, Token![,]>::parse_terminated(input)?;
        for meta in metas {
            let key = meta.path().get_ident().map(Ident::to_string);
            match (key.as_deref(), &meta) {
                (Some("namespace"), Meta::NameValue(nv)) => {
                    opts.namespace = Some(lit_str(&nv.value)?.value());
                }
                (Some("namespace_separator"), Meta::NameValue(nv)) => {
                    opts.separator = Some(lit_str(&nv.value)?.value());
                }
                (Some("unknown_params"), Meta::NameValue(nv)) => {
                    let v = lit_str(&nv.value)?;
                    match v.value().as_str() {
                        "ignore" => opts.ignore_unknown = true,
                        "reject" => opts.ignore_unknown = false,
                        _ => {
                            return Err(syn::Error::new_spanned(
                                v,
                                "use `unknown_params = \"reject\"` (the default: -32602 naming \
                                 the parameter) or `unknown_params = \"ignore\"`",
                            ))
                        }
                    }
                }
                (Some("naming"), Meta::NameValue(nv)) => {
                    let v = lit_str(&nv.value)?;
                    match v.value().as_str() {
                        "spark" => opts.spark = true,
                        "exact" => opts.spark = false,
                        _ => {
                            return Err(syn::Error::new_spanned(
                                v,
                                "unknown naming rule: use `naming = \"spark\"` (`.`, `-`, `_` \
                                 and `#` are the same separator) or `naming = \"exact\"`",
                            ))
                        }
                    }
                }
                _ => {
                    return Err(syn::Error::new_spanned(
                        meta,
                        "unknown #[rpc] option: expected `namespace = \"..\"`, \
                         `namespace_separator = \"..\"`, `naming = \"spark\"` or \
                         `unknown_params = \"ignore\"`",
                    ))
                }
            }
        }
        Ok(opts)
    }
}

fn lit_str(e: &Expr) -> syn::Result<LitStr> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        other => Err(syn::Error::new_spanned(other, "expected a string literal")),
    }
}

fn lit_int(e: &Expr) -> syn::Result<i64> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse(),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => Ok(-lit_int(&u.expr)?),
        other => Err(syn::Error::new_spanned(
            other,
            "expected an integer literal",
        )),
    }
}

/// Options of `#[method(...)]`.
#[derive(Default)]
struct MethodOptions {
    name: Option<LitStr>,
    aliases: Vec<LitStr>,
    notification: bool,
    raw: bool,
    errors: Vec<(i64, String)>,
}

fn method_options(attrs: &[Attribute]) -> syn::Result<MethodOptions> {
    let mut opts = MethodOptions::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("method")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                opts.name = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("aliases") {
                let value = meta.value()?;
                let content;
                syn::bracketed!(content in value);
                let list = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
                opts.aliases.extend(list);
            } else if meta.path.is_ident("notification") {
                opts.notification = true;
            } else if meta.path.is_ident("raw") {
                opts.raw = true;
            } else if meta.path.is_ident("error") {
                let (mut code, mut message) = (None, None);
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("code") {
                        let e: Expr = inner.value()?.parse()?;
                        code = Some(lit_int(&e)?);
                    } else if inner.path.is_ident("message") {
                        let s: LitStr = inner.value()?.parse()?;
                        message = Some(s.value());
                    } else {
                        return Err(inner.error("expected `code = ..` or `message = \"..\"`"));
                    }
                    Ok(())
                })?;
                match (code, message) {
                    (Some(c), Some(m)) => opts.errors.push((c, m)),
                    _ => {
                        return Err(meta.error(
                            "an error needs both: `error(code = -32000, message = \"..\")`",
                        ))
                    }
                }
            } else {
                return Err(meta.error(
                    "unknown #[method] option: expected `name = \"..\"`, `aliases = [..]`, \
                     `notification`, `raw` or `error(code = .., message = \"..\")`",
                ));
            }
            Ok(())
        })?;
    }
    Ok(opts)
}

/// Options of `#[subscription(...)]`, checked: every name still without the namespace.
struct SubscriptionOptions {
    name: Option<LitStr>,
    aliases: Vec<LitStr>,
    unsubscribe: LitStr,
    unsubscribe_aliases: Vec<LitStr>,
    notification: Option<LitStr>,
    item: Type,
}

fn lit_list(value: ParseStream<'_>) -> syn::Result<Vec<LitStr>> {
    let content;
    syn::bracketed!(content in value);
    Ok(Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?
        .into_iter()
        .collect())
}

/// Reads `#[subscription(..)]`, if the method has one.
fn subscription_options(attrs: &[Attribute]) -> syn::Result<Option<SubscriptionOptions>> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("subscription")) {
        if found.is_some() {
            return Err(syn::Error::new_spanned(
                attr,
                "one #[subscription(..)] per method: put every option in it",
            ));
        }
        let (mut name, mut aliases, mut unsubscribe, mut unsubscribe_aliases) =
            (None, Vec::new(), None, Vec::new());
        let (mut notification, mut item) = (None, None);
        if !matches!(attr.meta, Meta::List(_)) {
            return Err(syn::Error::new_spanned(
                attr,
                "a #[subscription] needs its names and item type: \
                 `#[subscription(unsubscribe = \"..\", item = Type)]`",
            ));
        }
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                name = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("aliases") {
                aliases.extend(lit_list(meta.value()?)?);
            } else if meta.path.is_ident("unsubscribe") {
                unsubscribe = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("unsubscribe_aliases") {
                unsubscribe_aliases.extend(lit_list(meta.value()?)?);
            } else if meta.path.is_ident("notification") {
                notification = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("item") {
                item = Some(meta.value()?.parse::<Type>()?);
            } else {
                return Err(meta.error(
                    "unknown #[subscription] option: expected `name = \"..\"`, \
                     `aliases = [..]`, `unsubscribe = \"..\"`, `unsubscribe_aliases = [..]`, \
                     `notification = \"..\"` or `item = Type`",
                ));
            }
            Ok(())
        })?;
        let Some(unsubscribe) = unsubscribe else {
            return Err(syn::Error::new_spanned(
                attr,
                "a #[subscription] needs `unsubscribe = \"..\"`: the method the client calls \
                 (with the subscription id) to end it",
            ));
        };
        let Some(item) = item else {
            return Err(syn::Error::new_spanned(
                attr,
                "a #[subscription] needs `item = Type`: the type of the items it sends \
                 (what the client's `Subscription<Type>` yields)",
            ));
        };
        found = Some(SubscriptionOptions {
            name,
            aliases,
            unsubscribe,
            unsubscribe_aliases,
            notification,
            item,
        });
    }
    Ok(found)
}

/// A subscription method's extra names and item type, namespaced.
struct SubscriptionInfo {
    unsubscribe: String,
    unsubscribe_aliases: Vec<String>,
    notification: String,
    item: Type,
}

/// One wire parameter.
struct Param {
    ident: Ident,
    ty: Type,
    optional: bool,
}

/// One method of the trait, checked.
struct Method {
    ident: Ident,
    docs: Vec<String>,
    wire: String,
    aliases: Vec<String>,
    notification: bool,
    raw: bool,
    errors: Vec<(i64, String)>,
    wants_ctx: bool,
    params: Vec<Param>,
    /// The result type the client reads (`()` when the method returns nothing).
    result: Type,
    /// True when the method returns `Result<T, E>`.
    fallible: bool,
    /// The output type as written.
    output: Type,
    span: Span,
    /// Set for a `#[subscription]` method.
    subscription: Option<SubscriptionInfo>,
    /// False for a plain `fn`: answered at once on the connection's task.
    is_async: bool,
}

fn doc_lines(attrs: &[Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => lit_str(&nv.value).ok().map(|s| s.value()),
            _ => None,
        })
        .map(|l| l.strip_prefix(' ').unwrap_or(&l).trim_end().to_owned())
        .collect()
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        _ => None,
    }
}

fn is_context(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "Context" && s.arguments.is_empty())
}

fn is_pending(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "PendingSubscription" && s.arguments.is_empty())
}

fn is_option(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "Option")
}

fn type_args(seg: &syn::PathSegment) -> Vec<&Type> {
    match &seg.arguments {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|g| match g {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn check_method(f: &TraitItemFn, opts: &TraitOptions) -> syn::Result<Method> {
    let sig = &f.sig;
    let ident = sig.ident.clone();
    let sopts = subscription_options(&f.attrs)?;
    if let (Some(_), Some(attr)) = (&sopts, f.attrs.iter().find(|a| a.path().is_ident("method"))) {
        return Err(syn::Error::new_spanned(
            attr,
            "a method is either a #[method] or a #[subscription], not both: put its names in \
             #[subscription(name = \"..\", aliases = [..])]",
        ));
    }
    if sig.asyncness.is_none() && sopts.is_some() {
        return Err(syn::Error::new_spanned(
            sig.fn_token,
            format!(
                "#[rpc] subscriptions must be `async fn`: write \
                 `async fn {ident}(&self, pending: PendingSubscription, ..)` \
                 (the macro makes the future `Send` for you)"
            ),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "#[rpc] methods cannot be generic: params and results need concrete types \
             (for decoding, the typed client and the OpenRPC schema)",
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(syn::Error::new_spanned(
            v,
            "variadic methods are not supported",
        ));
    }
    if f.default.is_some() {
        return Err(syn::Error::new_spanned(
            &f.default,
            "#[rpc] methods cannot have a default body: implement them in `impl Trait for \
             YourService`",
        ));
    }
    if ["into_router"].contains(&ident.to_string().as_str()) {
        return Err(syn::Error::new_spanned(
            &ident,
            "`into_router` is generated by #[rpc]; name the method differently and give it \
             `#[method(name = \"into_router\")]`",
        ));
    }
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() => {}
        Some(FnArg::Receiver(r)) => {
            return Err(syn::Error::new_spanned(
                r,
                "#[rpc] methods take `&self` (calls run concurrently on one shared service; \
                 keep mutable state behind a Mutex)",
            ))
        }
        _ => {
            return Err(syn::Error::new_spanned(
                &sig.ident,
                format!("#[rpc] methods take `&self` first: write `async fn {ident}(&self, ..)`"),
            ))
        }
    }
    let mut mopts = method_options(&f.attrs)?;
    let mut wants_ctx = false;
    let mut params = Vec::new();
    let mut inputs = inputs.peekable();
    if sopts.is_some() {
        let first = inputs.peek().and_then(|arg| match arg {
            FnArg::Typed(pt) => Some(pt),
            FnArg::Receiver(_) => None,
        });
        match first {
            Some(pt) if is_pending(&pt.ty) => {
                inputs.next();
            }
            Some(pt) if is_context(&pt.ty) => {
                return Err(syn::Error::new_spanned(
                    &pt.ty,
                    "a #[subscription] method gets the call's context from its pending \
                     subscription (`pending.context()`): take \
                     `pending: PendingSubscription` here instead",
                ))
            }
            _ => {
                return Err(syn::Error::new_spanned(
                    &sig.ident,
                    format!(
                        "a #[subscription] method takes the `PendingSubscription` first after \
                         `&self` (to accept or reject the call): write \
                         `async fn {ident}(&self, pending: PendingSubscription, ..)`"
                    ),
                ))
            }
        }
    }
    for (i, arg) in inputs.enumerate() {
        let FnArg::Typed(pt) = arg else {
            return Err(syn::Error::new_spanned(arg, "unexpected receiver"));
        };
        if sopts.is_some() && (is_context(&pt.ty) || is_pending(&pt.ty)) {
            return Err(syn::Error::new_spanned(
                &pt.ty,
                "a #[subscription] method takes one `PendingSubscription`, first after \
                 `&self` (its `context()` is the call's context); the other parameters are \
                 the call's params",
            ));
        }
        if is_context(&pt.ty) {
            if i != 0 {
                return Err(syn::Error::new_spanned(
                    &pt.ty,
                    "the call's `Context` must be the first parameter after `&self`",
                ));
            }
            wants_ctx = true;
            continue;
        }
        let Pat::Ident(pi) = &*pt.pat else {
            return Err(syn::Error::new_spanned(
                &pt.pat,
                "#[rpc] parameters must be plain names (`a: i64`): the name is the param's \
                 name on the wire",
            ));
        };
        if let Type::Reference(r) = &*pt.ty {
            return Err(syn::Error::new_spanned(
                r,
                "#[rpc] parameters must be owned types (`String`, not `&str`): they are \
                 decoded from the call's params",
            ));
        }
        if matches!(&*pt.ty, Type::ImplTrait(_)) {
            return Err(syn::Error::new_spanned(
                &pt.ty,
                "#[rpc] parameters need a concrete type, not `impl Trait`",
            ));
        }
        let name = pi.ident.to_string();
        let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
        params.push(Param {
            ident: format_ident!("{}", name),
            ty: (*pt.ty).clone(),
            optional: is_option(&pt.ty),
        });
    }
    if params.len() > 16 {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            "#[rpc] methods take at most 16 params; group them into a struct",
        ));
    }
    if mopts.raw {
        let ok = params.len() == 1
            && last_segment(&params[0].ty).is_some_and(|s| {
                s.ident == "Option"
                    && type_args(s)
                        .first()
                        .and_then(|t| last_segment(t))
                        .is_some_and(|b| b.ident == "Box")
            });
        if !ok {
            return Err(syn::Error::new_spanned(
                &sig.inputs,
                "a `raw` method takes exactly one parameter: `params: Option<Box<RawValue>>` \
                 (the call's params as sent)",
            ));
        }
    }
    let unit: Type = syn::parse_quote!(());
    let (output, result, fallible) = match &sig.output {
        ReturnType::Default => (unit.clone(), unit, false),
        ReturnType::Type(_, ty) => {
            if matches!(&**ty, Type::ImplTrait(_)) {
                return Err(syn::Error::new_spanned(
                    ty,
                    "#[rpc] methods return a concrete type (`T` or `Result<T, E>`), \
                     not `impl Trait`",
                ));
            }
            match last_segment(ty) {
                Some(seg) if seg.ident == "Result" && !type_args(seg).is_empty() => {
                    ((**ty).clone(), type_args(seg)[0].clone(), true)
                }
                _ => ((**ty).clone(), (**ty).clone(), false),
            }
        }
    };
    if mopts.notification && !matches!(&result, Type::Tuple(t) if t.elems.is_empty()) {
        return Err(syn::Error::new_spanned(
            &sig.output,
            "a `notification` returns nothing (no answer goes back): remove the return type",
        ));
    }
    if mopts.notification && sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            sig.fn_token,
            format!(
                "a `notification` must be an `async fn` (notifications run one after another, \
                 in arrival order): write `async fn {ident}(&self, ..)`"
            ),
        ));
    }
    if mopts.notification && fallible {
        return Err(syn::Error::new_spanned(
            &sig.output,
            "a `notification` returns nothing (no answer goes back): remove the return type",
        ));
    }
    if sopts.is_some() && !matches!(sig.output, ReturnType::Default) {
        return Err(syn::Error::new_spanned(
            &sig.output,
            "a #[subscription] method returns nothing: it answers the call through \
             `pending.accept()` / `pending.reject(error)` and sends items on the accepted sink \
             (the subscription ends when the sink is dropped)",
        ));
    }
    if let Some(so) = &sopts {
        mopts.name = so.name.clone();
        mopts.aliases = so.aliases.clone();
    }
    let base = mopts
        .name
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| ident.to_string());
    let full = |n: &str| match &opts.namespace {
        Some(ns) => format!("{ns}{}{n}", opts.separator.as_deref().unwrap_or(".")),
        None => n.to_owned(),
    };
    let sub_lits = sopts
        .iter()
        .flat_map(|so| {
            std::iter::once(&so.unsubscribe)
                .chain(&so.unsubscribe_aliases)
                .chain(&so.notification)
        })
        .collect::<Vec<_>>();
    for lit in mopts.name.iter().chain(&mopts.aliases).chain(sub_lits) {
        let v = full(&lit.value());
        if v.is_empty() {
            return Err(syn::Error::new_spanned(
                lit,
                "a method name cannot be empty",
            ));
        }
        if v.starts_with("rpc.") {
            return Err(syn::Error::new_spanned(
                lit,
                "names starting with `rpc.` are reserved by JSON-RPC 2.0",
            ));
        }
    }
    Ok(Method {
        ident,
        docs: doc_lines(&f.attrs),
        wire: full(&base),
        aliases: mopts.aliases.iter().map(|a| full(&a.value())).collect(),
        notification: mopts.notification,
        raw: mopts.raw,
        errors: mopts.errors,
        wants_ctx,
        params,
        result,
        fallible,
        output,
        span: f.sig.ident.span(),
        subscription: sopts.map(|so| SubscriptionInfo {
            unsubscribe: full(&so.unsubscribe.value()),
            unsubscribe_aliases: so
                .unsubscribe_aliases
                .iter()
                .map(|a| full(&a.value()))
                .collect(),
            notification: so
                .notification
                .as_ref()
                .map_or_else(|| full(&base), |n| full(&n.value())),
            item: so.item,
        }),
        is_async: f.sig.asyncness.is_some(),
    })
}

fn normalize(name: &str) -> String {
    name.replace(['.', '-', '_', '#'], "_")
}

fn expand(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let opts: TraitOptions = Parser::parse2(TraitOptions::parse, attr)?;
    let mut tr: ItemTrait = syn::parse2(item)?;
    if !tr.generics.params.is_empty() || tr.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &tr.generics,
            "#[rpc] traits cannot be generic: every method needs concrete types",
        ));
    }
    let mut methods = Vec::new();
    let mut errors: Option<syn::Error> = None;
    let mut push_err = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for item in &tr.items {
        match item {
            TraitItem::Fn(f) => match check_method(f, &opts) {
                Ok(m) => methods.push(m),
                Err(e) => push_err(e),
            },
            other => push_err(syn::Error::new_spanned(
                other,
                "#[rpc] traits hold only `async fn` methods",
            )),
        }
    }
    // Every wire name once (aliases included; under the Spark rule, separators ignored).
    let mut seen: Vec<(String, String)> = Vec::new();
    for m in &methods {
        let unsubscribe = m
            .subscription
            .iter()
            .flat_map(|s| std::iter::once(&s.unsubscribe).chain(&s.unsubscribe_aliases));
        for name in std::iter::once(&m.wire)
            .chain(&m.aliases)
            .chain(unsubscribe)
        {
            let key = if opts.spark {
                normalize(name)
            } else {
                name.clone()
            };
            if let Some((_, owner)) = seen.iter().find(|(k, _)| *k == key) {
                push_err(syn::Error::new(
                    m.span,
                    format!(
                        "duplicate method name `{name}`: `{owner}` already answers it{}; \
                         give one of them another name ({})",
                        if opts.spark {
                            " (naming = \"spark\" treats `.`, `-`, `_` and `#` as one)"
                        } else {
                            ""
                        },
                        if m.subscription.is_some() {
                            "`#[subscription(name = \"..\", unsubscribe = \"..\")]`"
                        } else {
                            "`#[method(name = \"..\")]`"
                        }
                    ),
                ));
            } else {
                seen.push((key, m.ident.to_string()));
            }
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }

    // The trait: each `async fn` becomes `fn .. -> impl Future<Output = ..> + Send`.
    for item in &mut tr.items {
        if let TraitItem::Fn(f) = item {
            f.attrs
                .retain(|a| !a.path().is_ident("method") && !a.path().is_ident("subscription"));
            if f.sig.asyncness.is_none() {
                // A synchronous method stays as written (it answers on the connection's task).
                continue;
            }
            let output = match &f.sig.output {
                ReturnType::Default => quote!(()),
                ReturnType::Type(_, t) => quote!(#t),
            };
            f.sig.asyncness = None;
            f.sig.output = syn::parse_quote! {
                -> impl ::core::future::Future<Output = #output> + ::core::marker::Send
            };
        }
    }
    let server = server_fn(&methods, &opts);
    tr.items.push(syn::parse2(server)?);

    let vis = &tr.vis;
    let name = &tr.ident;
    let client_name = format_ident!("{}Client", name);
    let batch_name = format_ident!("{}Batch", name);
    let client_doc = format!(
        "Typed calls of [`{name}`] over any [`Client`](::jsonrpc_proto::peer::Client) \
         (every transport, every runtime). Generated by `#[rpc]`."
    );
    let batch_doc = format!(
        "Typed calls of [`{name}`] inside one batch ([`BatchBuilder`](::jsonrpc_proto::peer::BatchBuilder)): \
         requests give a [`BatchSlot`](::jsonrpc_proto::service::BatchSlot) to read after \
         `send`. Generated by `#[rpc]`."
    );
    let mut client_sigs = Vec::new();
    let mut client_impls = Vec::new();
    let mut batch_sigs = Vec::new();
    let mut batch_impls = Vec::new();
    for m in &methods {
        let ident = &m.ident;
        let wire = &m.wire;
        let docs = m.docs.iter().map(|d| quote!(#[doc = #d]));
        let docs2 = docs.clone();
        let args: Vec<_> = m
            .params
            .iter()
            .map(|p| {
                let (i, t) = (&p.ident, &p.ty);
                quote!(#i: #t)
            })
            .collect();
        let names: Vec<_> = m.params.iter().map(|p| &p.ident).collect();
        let tuple = if m.raw {
            let only = names[0];
            quote!(#only)
        } else {
            quote!((#(#names,)*))
        };
        let result = &m.result;
        if let Some(sub) = &m.subscription {
            let (item, unsubscribe) = (&sub.item, &sub.unsubscribe);
            client_sigs.push(quote! {
                #(#docs)*
                fn #ident(&self, #(#args),*) -> impl ::core::future::Future<Output = ::core::result::Result<::jsonrpc_proto::peer::Subscription<#item>, ::jsonrpc_proto::peer::ClientError>> + ::core::marker::Send;
            });
            client_impls.push(quote! {
                fn #ident(&self, #(#args),*) -> impl ::core::future::Future<Output = ::core::result::Result<::jsonrpc_proto::peer::Subscription<#item>, ::jsonrpc_proto::peer::ClientError>> + ::core::marker::Send {
                    ::jsonrpc_proto::peer::Client::subscribe::<#item, _>(self, #wire, #tuple, #unsubscribe)
                }
            });
            // A subscription lives past its call: it has no place in a batch.
            let _ = docs2;
        } else if m.notification {
            client_sigs.push(quote! {
                #(#docs)*
                fn #ident(&self, #(#args),*) -> ::core::future::Ready<::core::result::Result<(), ::jsonrpc_proto::peer::ClientError>>;
            });
            client_impls.push(quote! {
                fn #ident(&self, #(#args),*) -> ::core::future::Ready<::core::result::Result<(), ::jsonrpc_proto::peer::ClientError>> {
                    ::jsonrpc_proto::service::__private::notify(self, #wire, #tuple)
                }
            });
            batch_sigs.push(quote! {
                #(#docs2)*
                fn #ident(&mut self, #(#args),*) -> &mut Self;
            });
            batch_impls.push(quote! {
                fn #ident(&mut self, #(#args),*) -> &mut Self {
                    ::jsonrpc_proto::peer::BatchBuilder::notify(self, #wire, #tuple);
                    self
                }
            });
        } else {
            client_sigs.push(quote! {
                #(#docs)*
                fn #ident(&self, #(#args),*) -> ::jsonrpc_proto::peer::ResponseFuture<#result>;
            });
            client_impls.push(quote! {
                fn #ident(&self, #(#args),*) -> ::jsonrpc_proto::peer::ResponseFuture<#result> {
                    ::jsonrpc_proto::peer::Client::request(self, #wire, #tuple)
                }
            });
            batch_sigs.push(quote! {
                #(#docs2)*
                fn #ident(&mut self, #(#args),*) -> ::jsonrpc_proto::service::BatchSlot<#result>;
            });
            batch_impls.push(quote! {
                fn #ident(&mut self, #(#args),*) -> ::jsonrpc_proto::service::BatchSlot<#result> {
                    ::jsonrpc_proto::service::BatchSlot::new(
                        ::jsonrpc_proto::peer::BatchBuilder::request(self, #wire, #tuple)
                    )
                }
            });
        }
    }
    Ok(quote! {
        #tr

        #[doc = #client_doc]
        #vis trait #client_name {
            #(#client_sigs)*
        }

        impl #client_name for ::jsonrpc_proto::peer::Client {
            #(#client_impls)*
        }

        #[doc = #batch_doc]
        #vis trait #batch_name {
            #(#batch_sigs)*
        }

        impl #batch_name for ::jsonrpc_proto::peer::BatchBuilder<'_> {
            #(#batch_impls)*
        }
    })
}

/// The provided `into_router` method of the trait.
fn server_fn(methods: &[Method], opts: &TraitOptions) -> TokenStream2 {
    let p = quote!(::jsonrpc_proto::service::__private);
    let mut regs = Vec::new();
    let mut docs = Vec::new();
    for m in methods {
        let ident = &m.ident;
        let wire = &m.wire;
        let span = m.span;
        let names: Vec<String> = m.params.iter().map(|p| p.ident.to_string()).collect();
        let idents: Vec<_> = m.params.iter().map(|p| &p.ident).collect();
        let required = m
            .params
            .iter()
            .rposition(|p| !p.optional)
            .map_or(0, |i| i + 1);
        let reads = m.params.iter().enumerate().map(|(i, p)| {
            let (id, ty) = (&p.ident, &p.ty);
            let idx = LitInt::new(&i.to_string(), Span::call_site());
            if p.optional {
                quote!(let #id: #ty = __reader.optional(#idx)?;)
            } else {
                quote!(let #id: #ty = __reader.required::<#ty>(#idx)?;)
            }
        });
        let reader = if opts.ignore_unknown {
            format_ident!("ignoring_unknown")
        } else {
            format_ident!("new")
        };
        // Methods read params borrowed from the frame; notifications get them owned.
        let (raw_params, given) = if m.notification {
            (quote!(__params), quote!(__params.as_deref()))
        } else {
            (
                quote!(__params.map(::std::borrow::ToOwned::to_owned)),
                quote!(__params),
            )
        };
        let decode = if m.raw {
            let only = idents[0];
            quote!(let #only = #raw_params;)
        } else if m.params.is_empty() {
            quote! {
                ::jsonrpc_proto::service::ParamReader::#reader(#given, &[], 0)?;
            }
        } else {
            quote! {
                let mut __reader = ::jsonrpc_proto::service::ParamReader::#reader(
                    #given, &[#(#names),*], #required)?;
                #(#reads)*
            }
        };
        let ctx_arg = if m.wants_ctx {
            quote!(__ctx,)
        } else {
            quote!()
        };
        let unused_ctx = if m.wants_ctx {
            quote!()
        } else {
            quote!(let _ = __ctx;)
        };
        let call = quote_spanned!(span=> __this.#ident(#ctx_arg #(#idents),*).await);
        let all_names: Vec<&String> = std::iter::once(&m.wire).chain(&m.aliases).collect();
        if let Some(sub) = &m.subscription {
            let call = quote_spanned!(span=> __this.#ident(__pending, #(#idents),*).await);
            let unsubscribe: Vec<&String> = std::iter::once(&sub.unsubscribe)
                .chain(&sub.unsubscribe_aliases)
                .collect();
            let notification = &sub.notification;
            regs.push(quote! {
                let __make = |__this: #p::Arc<Self>| {
                    move |__ctx: ::jsonrpc_proto::service::Context,
                          __params: ::core::option::Option<&#p::RawValue>,
                          __pending: ::jsonrpc_proto::service::PendingSubscription|
                          -> ::core::result::Result<_, ::jsonrpc_proto::ErrorObject> {
                        let _ = __ctx;
                        #decode
                        let __this = #p::Arc::clone(&__this);
                        ::core::result::Result::Ok(async move { #call })
                    }
                };
                __builder = #p::subscription(
                    __builder,
                    &[#(#all_names),*],
                    &[#(#unsubscribe),*],
                    #notification,
                    __make(#p::Arc::clone(&__this)),
                );
            });
            if opts.spark {
                regs.push(quote! {
                    #( __builder = __builder.separator_insensitive(#unsubscribe); )*
                });
            }
        } else if m.notification {
            regs.push(quote! {
                let __make = |__this: #p::Arc<Self>| {
                    move |__ctx: ::jsonrpc_proto::service::Context,
                          __params: ::core::option::Option<::std::boxed::Box<#p::RawValue>>| {
                        let __this = #p::Arc::clone(&__this);
                        async move {
                            #unused_ctx
                            let __decoded = (|| -> ::core::result::Result<_, ::jsonrpc_proto::ErrorObject> {
                                #decode
                                ::core::result::Result::Ok((#(#idents,)*))
                            })();
                            match __decoded {
                                ::core::result::Result::Ok((#(#idents,)*)) => { #call; }
                                ::core::result::Result::Err(__e) => #p::notification_dropped(#wire, &__e),
                            }
                        }
                    }
                };
                #( __builder = __builder.notification_raw(#all_names, __make(#p::Arc::clone(&__this))); )*
            });
        } else {
            // An `async fn` answers through a future; a plain `fn` at once (`method_sync`).
            let call = if m.is_async {
                call
            } else {
                quote_spanned!(span=> __this.#ident(#ctx_arg #(#idents),*))
            };
            let wrap = if m.fallible {
                quote!(#p::result(#call))
            } else {
                quote!(#p::ok(#call))
            };
            let (answer, register) = if m.is_async {
                (
                    quote! {
                        let __this = #p::Arc::clone(&__this);
                        ::core::result::Result::Ok(async move {
                            #unused_ctx
                            #wrap
                        })
                    },
                    quote!(::jsonrpc_proto::service::RouterBuilder::method_decoded),
                )
            } else {
                (quote! { #unused_ctx #wrap }, quote!(#p::method_sync))
            };
            regs.push(quote! {
                let __make = |__this: #p::Arc<Self>| {
                    move |__ctx: ::jsonrpc_proto::service::Context,
                          __params: ::core::option::Option<&#p::RawValue>|
                          -> ::core::result::Result<_, ::jsonrpc_proto::ErrorObject> {
                        #decode
                        #answer
                    }
                };
                #( __builder = #register(__builder, #all_names, __make(#p::Arc::clone(&__this))); )*
            });
        }
        if opts.spark {
            regs.push(quote! {
                #( __builder = __builder.separator_insensitive(#all_names); )*
            });
        }

        // The OpenRPC description.
        let lines = &m.docs;
        let summary = lines.iter().find(|l| !l.trim().is_empty()).cloned();
        let description = lines.join("\n").trim().to_owned();
        let set_summary = summary
            .as_ref()
            .map(|s| quote!(__m.summary = ::core::option::Option::Some(#s.into());));
        let set_description = (summary.as_deref() != Some(description.as_str())
            && !description.is_empty())
        .then(|| quote!(__m.description = ::core::option::Option::Some(#description.into());));
        let param_docs = m.params.iter().map(|prm| {
            let (n, ty, opt) = (prm.ident.to_string(), &prm.ty, prm.optional);
            quote! {
                let mut __c = ::jsonrpc_proto::service::openrpc::ContentDescriptor::new(
                    #n, (&&#p::SchemaProbe::<#ty>::new()).schema_value(&mut __gen));
                __c.required = !#opt;
                __m.params.push(__c);
            }
        });
        let result = &m.result;
        let after = m.subscription.as_ref().map(|sub| {
            let unsubscribe = &sub.unsubscribe;
            let unsub_aliases = &sub.unsubscribe_aliases;
            let unsub_summary = format!("Ends a `{wire}` subscription: true when it was open.");
            quote! {
                let mut __u = ::jsonrpc_proto::service::openrpc::MethodDoc::new(#unsubscribe);
                __u.summary = ::core::option::Option::Some(#unsub_summary.into());
                __u.params.push(::jsonrpc_proto::service::openrpc::ContentDescriptor::new(
                    "subscription", #p::subscription_id_schema()));
                __u.result = ::core::option::Option::Some(
                    ::jsonrpc_proto::service::openrpc::ContentDescriptor::new(
                        "result", (&&#p::SchemaProbe::<bool>::new()).schema_value(&mut __gen)));
                #( __u.aliases.push(#unsub_aliases.into()); )*
                __docs.push(__u);
            }
        });
        let set_result = if let Some(sub) = &m.subscription {
            let (item, unsubscribe, notification) =
                (&sub.item, &sub.unsubscribe, &sub.notification);
            quote! {
                __m.result = ::core::option::Option::Some(
                    ::jsonrpc_proto::service::openrpc::ContentDescriptor::new(
                        "subscription", #p::subscription_id_schema()));
                __m.subscription = ::core::option::Option::Some(
                    ::jsonrpc_proto::service::openrpc::SubscriptionDoc::new(
                        #unsubscribe, #notification,
                        (&&#p::SchemaProbe::<#item>::new()).schema_value(&mut __gen)));
            }
        } else if m.notification {
            quote!()
        } else {
            quote! {
                __m.result = ::core::option::Option::Some(
                    ::jsonrpc_proto::service::openrpc::ContentDescriptor::new(
                        "result", (&&#p::SchemaProbe::<#result>::new()).schema_value(&mut __gen)));
            }
        };
        let errs = m.errors.iter().map(|(code, msg)| {
            quote!(__m.errors.push(::jsonrpc_proto::service::openrpc::ErrorDoc::new(#code, #msg));)
        });
        let aliases = &m.aliases;
        docs.push(quote! {{
            let mut __m = ::jsonrpc_proto::service::openrpc::MethodDoc::new(#wire);
            #set_summary
            #set_description
            #(#param_docs)*
            #set_result
            #(#errs)*
            #( __m.aliases.push(#aliases.into()); )*
            __docs.push(__m);
            #after
        }});
        // The output type is only named to keep spans for type errors.
        let _ = &m.output;
    }
    quote! {
        /// Serves every method of this trait from `self` (shared by concurrent calls): a
        /// [`RouterBuilder`](::jsonrpc_proto::service::RouterBuilder) to merge, give state or
        /// hooks, or build. It carries the methods' OpenRPC descriptions
        /// (`.discover(info)` serves them at `rpc.discover`). Generated by `#[rpc]`.
        fn into_router(self) -> ::jsonrpc_proto::service::RouterBuilder
        where
            Self: ::core::marker::Sized + ::core::marker::Send + ::core::marker::Sync + 'static,
        {
            #[allow(unused_imports)]
            use #p::{ViaAnyValue as _, ViaJsonSchema as _};
            let __this = #p::Arc::new(self);
            let mut __builder = ::jsonrpc_proto::service::RouterBuilder::default();
            #(#regs)*
            let mut __gen = #p::schema_generator();
            let mut __docs = ::std::vec::Vec::new();
            #(#docs)*
            __builder.describe(__docs)
        }
    }
}
