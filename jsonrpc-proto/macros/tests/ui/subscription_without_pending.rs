use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    #[subscription(unsubscribe = "unwatch", item = u64)]
    async fn watch(&self, topic: String);
}

fn main() {}
