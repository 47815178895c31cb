use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    async fn echo<T: serde::Serialize>(&self, value: T) -> T;
}

fn main() {}
