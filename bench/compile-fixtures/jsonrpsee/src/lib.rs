//! Compile-time fixture: the same 20-method API with jsonrpsee's `#[rpc(server, client)]`.
//! Same API as ../ours. Built by `compare compile-time` (bench/src/compile_time.rs).

use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::RpcModule;
use serde::{Deserialize, Serialize};

/// A point.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Point {
    /// Across.
    pub x: i64,
    /// Down.
    pub y: i64,
}

/// A user.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its tags.
    pub tags: Vec<String>,
}

/// The API.
#[rpc(server, client)]
pub trait Api {
    /// Method 0.
    #[method(name = "m0")]
    async fn m0(&self, a: i64, b: i64) -> RpcResult<i64>;
    /// Method 1.
    #[method(name = "m1")]
    async fn m1(&self, name: String, title: Option<String>) -> RpcResult<String>;
    /// Method 2.
    #[method(name = "m2")]
    async fn m2(&self, p: Point) -> RpcResult<Point>;
    /// Method 3.
    #[method(name = "m3")]
    async fn m3(&self, id: u64) -> RpcResult<Option<User>>;
    /// Method 4.
    #[method(name = "m4")]
    async fn m4(&self, a: i64, b: i64) -> RpcResult<i64>;
    /// Method 5.
    #[method(name = "m5")]
    async fn m5(&self, name: String, title: Option<String>) -> RpcResult<String>;
    /// Method 6.
    #[method(name = "m6")]
    async fn m6(&self, p: Point) -> RpcResult<Point>;
    /// Method 7.
    #[method(name = "m7")]
    async fn m7(&self, id: u64) -> RpcResult<Option<User>>;
    /// Method 8.
    #[method(name = "m8")]
    async fn m8(&self, a: i64, b: i64) -> RpcResult<i64>;
    /// Method 9.
    #[method(name = "m9")]
    async fn m9(&self, name: String, title: Option<String>) -> RpcResult<String>;
    /// Method 10.
    #[method(name = "m10")]
    async fn m10(&self, p: Point) -> RpcResult<Point>;
    /// Method 11.
    #[method(name = "m11")]
    async fn m11(&self, id: u64) -> RpcResult<Option<User>>;
    /// Method 12.
    #[method(name = "m12")]
    async fn m12(&self, a: i64, b: i64) -> RpcResult<i64>;
    /// Method 13.
    #[method(name = "m13")]
    async fn m13(&self, name: String, title: Option<String>) -> RpcResult<String>;
    /// Method 14.
    #[method(name = "m14")]
    async fn m14(&self, p: Point) -> RpcResult<Point>;
    /// Method 15.
    #[method(name = "m15")]
    async fn m15(&self, id: u64) -> RpcResult<Option<User>>;
    /// Method 16.
    #[method(name = "m16")]
    async fn m16(&self, a: i64, b: i64) -> RpcResult<i64>;
    /// Method 17.
    #[method(name = "m17")]
    async fn m17(&self, name: String, title: Option<String>) -> RpcResult<String>;
    /// Method 18.
    #[method(name = "m18")]
    async fn m18(&self, p: Point) -> RpcResult<Point>;
    /// Method 19.
    #[method(name = "m19")]
    async fn m19(&self, id: u64) -> RpcResult<Option<User>>;
}

/// Serves [`Api`].
pub struct Service;

#[jsonrpsee::core::async_trait]
impl ApiServer for Service {
    async fn m0(&self, a: i64, b: i64) -> RpcResult<i64> {
        Ok(a.wrapping_add(b))
    }
    async fn m1(&self, name: String, title: Option<String>) -> RpcResult<String> {
        Ok(format!("{name}{}", title.unwrap_or_default()))
    }
    async fn m2(&self, p: Point) -> RpcResult<Point> {
        Ok(Point { x: p.x + 1, y: p.y })
    }
    async fn m3(&self, id: u64) -> RpcResult<Option<User>> {
        Ok((id > 0).then(|| User {
            id,
            name: String::new(),
            tags: Vec::new(),
        }))
    }
    async fn m4(&self, a: i64, b: i64) -> RpcResult<i64> {
        Ok(a.wrapping_add(b))
    }
    async fn m5(&self, name: String, title: Option<String>) -> RpcResult<String> {
        Ok(format!("{name}{}", title.unwrap_or_default()))
    }
    async fn m6(&self, p: Point) -> RpcResult<Point> {
        Ok(Point { x: p.x + 1, y: p.y })
    }
    async fn m7(&self, id: u64) -> RpcResult<Option<User>> {
        Ok((id > 0).then(|| User {
            id,
            name: String::new(),
            tags: Vec::new(),
        }))
    }
    async fn m8(&self, a: i64, b: i64) -> RpcResult<i64> {
        Ok(a.wrapping_add(b))
    }
    async fn m9(&self, name: String, title: Option<String>) -> RpcResult<String> {
        Ok(format!("{name}{}", title.unwrap_or_default()))
    }
    async fn m10(&self, p: Point) -> RpcResult<Point> {
        Ok(Point { x: p.x + 1, y: p.y })
    }
    async fn m11(&self, id: u64) -> RpcResult<Option<User>> {
        Ok((id > 0).then(|| User {
            id,
            name: String::new(),
            tags: Vec::new(),
        }))
    }
    async fn m12(&self, a: i64, b: i64) -> RpcResult<i64> {
        Ok(a.wrapping_add(b))
    }
    async fn m13(&self, name: String, title: Option<String>) -> RpcResult<String> {
        Ok(format!("{name}{}", title.unwrap_or_default()))
    }
    async fn m14(&self, p: Point) -> RpcResult<Point> {
        Ok(Point { x: p.x + 1, y: p.y })
    }
    async fn m15(&self, id: u64) -> RpcResult<Option<User>> {
        Ok((id > 0).then(|| User {
            id,
            name: String::new(),
            tags: Vec::new(),
        }))
    }
    async fn m16(&self, a: i64, b: i64) -> RpcResult<i64> {
        Ok(a.wrapping_add(b))
    }
    async fn m17(&self, name: String, title: Option<String>) -> RpcResult<String> {
        Ok(format!("{name}{}", title.unwrap_or_default()))
    }
    async fn m18(&self, p: Point) -> RpcResult<Point> {
        Ok(Point { x: p.x + 1, y: p.y })
    }
    async fn m19(&self, id: u64) -> RpcResult<Option<User>> {
        Ok((id > 0).then(|| User {
            id,
            name: String::new(),
            tags: Vec::new(),
        }))
    }
}

/// The server side.
pub fn server() -> RpcModule<Service> {
    Service.into_rpc()
}

/// Every method through the typed client.
pub async fn call_all<C: ClientT + Send + Sync>(c: &C) -> Result<(), jsonrpsee::core::ClientError> {
    c.m0(1, 2).await?;
    c.m1("n".into(), None).await?;
    c.m2(Point { x: 1, y: 2 }).await?;
    c.m3(7).await?;
    c.m4(1, 2).await?;
    c.m5("n".into(), None).await?;
    c.m6(Point { x: 1, y: 2 }).await?;
    c.m7(7).await?;
    c.m8(1, 2).await?;
    c.m9("n".into(), None).await?;
    c.m10(Point { x: 1, y: 2 }).await?;
    c.m11(7).await?;
    c.m12(1, 2).await?;
    c.m13("n".into(), None).await?;
    c.m14(Point { x: 1, y: 2 }).await?;
    c.m15(7).await?;
    c.m16(1, 2).await?;
    c.m17("n".into(), None).await?;
    c.m18(Point { x: 1, y: 2 }).await?;
    c.m19(7).await?;
    Ok(())
}

/// `call_all` on a concrete client (instantiated as ours is).
pub async fn call_all_ws(
    c: &jsonrpsee::ws_client::WsClient,
) -> Result<(), jsonrpsee::core::ClientError> {
    call_all(c).await
}
