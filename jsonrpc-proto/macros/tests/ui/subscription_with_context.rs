use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    #[subscription(unsubscribe = "unwatch", item = u64)]
    async fn watch(&self, ctx: jsonrpc_proto::service::Context, pending: jsonrpc_proto::service::PendingSubscription);
}

fn main() {}
