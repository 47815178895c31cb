use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    #[method(notification)]
    async fn log(&self, line: String) -> bool;
}

fn main() {}
