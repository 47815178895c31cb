use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    async fn hello(&self, name: &str) -> String;
}

fn main() {}
