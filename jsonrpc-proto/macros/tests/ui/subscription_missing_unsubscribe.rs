use jsonrpc_proto::rpc;

#[rpc]
pub trait Api {
    #[subscription(item = u64)]
    async fn watch(&self, pending: jsonrpc_proto::service::PendingSubscription);
}

fn main() {}
