use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    #[subscription(unsubscribe = "unwatch", item = u64)]
    async fn watch(&self, pending: jsonrpc_proto::service::PendingSubscription) -> u64;
}

fn main() {}
