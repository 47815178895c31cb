use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    async fn add(a: i64, b: i64) -> i64;
}

fn main() {}
