use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    #[subscription(unsubscribe = "unwatch", item = u64, buffer = 8)]
    async fn watch(&self, pending: jsonrpc_proto::service::PendingSubscription);
}

fn main() {}
