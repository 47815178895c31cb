use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    async fn add(&self, a: i64, b: i64) -> i64;

    #[method(name = "add")]
    async fn plus(&self, a: i64, b: i64) -> i64;
}

fn main() {}
