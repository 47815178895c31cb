use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    // A plain `fn` is a method answered at once; a notification must be `async fn`.
    fn add(&self, a: i64, b: i64) -> i64;

    #[method(notification)]
    fn log(&self, line: String);
}

fn main() {}
