use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    #[method(name = "watch_it")]
    #[subscription(unsubscribe = "unwatch", item = u64)]
    async fn watch(&self, pending: jsonrpc_proto::service::PendingSubscription);
}

fn main() {}
