use jsonrpc_proto::rpc;

#[rpc(server_only)]
pub trait Api {
    #[method(rename = "x")]
    async fn x(&self) -> u8;
}

fn main() {}
