//! Compile-time fixture: a 20-method API with jsonrpc-proto's `#[rpc]` (server, typed client,
//! typed batch calls and OpenRPC descriptions). Same API as ../jsonrpsee. Built by
//! `compare compile-time` (bench/src/compile_time.rs).

use jsonrpc_proto::peer::{Client, ClientError};
use jsonrpc_proto::service::RouterBuilder;
use jsonrpc_proto::{rpc, ErrorObject};
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
#[rpc]
pub trait Api {
    /// Method 0.
    async fn m0(&self, a: i64, b: i64) -> Result<i64, ErrorObject>;
    /// Method 1.
    async fn m1(&self, name: String, title: Option<String>) -> Result<String, ErrorObject>;
    /// Method 2.
    async fn m2(&self, p: Point) -> Result<Point, ErrorObject>;
    /// Method 3.
    async fn m3(&self, id: u64) -> Result<Option<User>, ErrorObject>;
    /// Method 4.
    async fn m4(&self, a: i64, b: i64) -> Result<i64, ErrorObject>;
    /// Method 5.
    async fn m5(&self, name: String, title: Option<String>) -> Result<String, ErrorObject>;
    /// Method 6.
    async fn m6(&self, p: Point) -> Result<Point, ErrorObject>;
    /// Method 7.
    async fn m7(&self, id: u64) -> Result<Option<User>, ErrorObject>;
    /// Method 8.
    async fn m8(&self, a: i64, b: i64) -> Result<i64, ErrorObject>;
    /// Method 9.
    async fn m9(&self, name: String, title: Option<String>) -> Result<String, ErrorObject>;
    /// Method 10.
    async fn m10(&self, p: Point) -> Result<Point, ErrorObject>;
    /// Method 11.
    async fn m11(&self, id: u64) -> Result<Option<User>, ErrorObject>;
    /// Method 12.
    async fn m12(&self, a: i64, b: i64) -> Result<i64, ErrorObject>;
    /// Method 13.
    async fn m13(&self, name: String, title: Option<String>) -> Result<String, ErrorObject>;
    /// Method 14.
    async fn m14(&self, p: Point) -> Result<Point, ErrorObject>;
    /// Method 15.
    async fn m15(&self, id: u64) -> Result<Option<User>, ErrorObject>;
    /// Method 16.
    async fn m16(&self, a: i64, b: i64) -> Result<i64, ErrorObject>;
    /// Method 17.
    async fn m17(&self, name: String, title: Option<String>) -> Result<String, ErrorObject>;
    /// Method 18.
    async fn m18(&self, p: Point) -> Result<Point, ErrorObject>;
    /// Method 19.
    async fn m19(&self, id: u64) -> Result<Option<User>, ErrorObject>;
}

/// Serves [`Api`].
pub struct Service;

impl Api for Service {
    async fn m0(&self, a: i64, b: i64) -> Result<i64, ErrorObject> {
        Ok(a.wrapping_add(b))
    }
    async fn m1(&self, name: String, title: Option<String>) -> Result<String, ErrorObject> {
        Ok(format!("{name}{}", title.unwrap_or_default()))
    }
    async fn m2(&self, p: Point) -> Result<Point, ErrorObject> {
        Ok(Point { x: p.x + 1, y: p.y })
    }
    async fn m3(&self, id: u64) -> Result<Option<User>, ErrorObject> {
        Ok((id > 0).then(|| User {
            id,
            name: String::new(),
            tags: Vec::new(),
        }))
    }
    async fn m4(&self, a: i64, b: i64) -> Result<i64, ErrorObject> {
        Ok(a.wrapping_add(b))
    }
    async fn m5(&self, name: String, title: Option<String>) -> Result<String, ErrorObject> {
        Ok(format!("{name}{}", title.unwrap_or_default()))
    }
    async fn m6(&self, p: Point) -> Result<Point, ErrorObject> {
        Ok(Point { x: p.x + 1, y: p.y })
    }
    async fn m7(&self, id: u64) -> Result<Option<User>, ErrorObject> {
        Ok((id > 0).then(|| User {
            id,
            name: String::new(),
            tags: Vec::new(),
        }))
    }
    async fn m8(&self, a: i64, b: i64) -> Result<i64, ErrorObject> {
        Ok(a.wrapping_add(b))
    }
    async fn m9(&self, name: String, title: Option<String>) -> Result<String, ErrorObject> {
        Ok(format!("{name}{}", title.unwrap_or_default()))
    }
    async fn m10(&self, p: Point) -> Result<Point, ErrorObject> {
        Ok(Point { x: p.x + 1, y: p.y })
    }
    async fn m11(&self, id: u64) -> Result<Option<User>, ErrorObject> {
        Ok((id > 0).then(|| User {
            id,
            name: String::new(),
            tags: Vec::new(),
        }))
    }
    async fn m12(&self, a: i64, b: i64) -> Result<i64, ErrorObject> {
        Ok(a.wrapping_add(b))
    }
    async fn m13(&self, name: String, title: Option<String>) -> Result<String, ErrorObject> {
        Ok(format!("{name}{}", title.unwrap_or_default()))
    }
    async fn m14(&self, p: Point) -> Result<Point, ErrorObject> {
        Ok(Point { x: p.x + 1, y: p.y })
    }
    async fn m15(&self, id: u64) -> Result<Option<User>, ErrorObject> {
        Ok((id > 0).then(|| User {
            id,
            name: String::new(),
            tags: Vec::new(),
        }))
    }
    async fn m16(&self, a: i64, b: i64) -> Result<i64, ErrorObject> {
        Ok(a.wrapping_add(b))
    }
    async fn m17(&self, name: String, title: Option<String>) -> Result<String, ErrorObject> {
        Ok(format!("{name}{}", title.unwrap_or_default()))
    }
    async fn m18(&self, p: Point) -> Result<Point, ErrorObject> {
        Ok(Point { x: p.x + 1, y: p.y })
    }
    async fn m19(&self, id: u64) -> Result<Option<User>, ErrorObject> {
        Ok((id > 0).then(|| User {
            id,
            name: String::new(),
            tags: Vec::new(),
        }))
    }
}

/// The server side.
pub fn server() -> RouterBuilder {
    Service.into_router()
}

/// Every method through the typed client.
pub async fn call_all(c: &Client) -> Result<(), ClientError> {
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
