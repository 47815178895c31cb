use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    #[method(name = "rpc.discover")]
    async fn discover(&self) -> String;
}

fn main() {}
