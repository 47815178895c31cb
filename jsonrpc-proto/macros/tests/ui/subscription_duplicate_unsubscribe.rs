use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    async fn stop(&self) -> bool;

    #[subscription(unsubscribe = "stop", item = u64)]
    async fn watch(&self, pending: jsonrpc_proto::service::PendingSubscription);
}

fn main() {}
