use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    async fn bump(&mut self, by: u64) -> u64;
}

fn main() {}
