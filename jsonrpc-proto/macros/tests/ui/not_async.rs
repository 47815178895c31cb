use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    fn add(&self, a: i64, b: i64) -> i64;
}

fn main() {}
