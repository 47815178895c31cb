use jsonrpc_proto::rpc;

#[rpc(naming = "spark")]
pub trait Users {
    async fn user_create(&self, name: String) -> u64;

    #[method(aliases = ["user.create"])]
    async fn create_user(&self, name: String) -> u64;
}

fn main() {}
