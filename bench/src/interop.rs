//! Interop: each library's clients against the other library's server, every answer asserted.

use crate::client::RpcClient;
use crate::common::{Lib, Result, MIB};

/// Checks one client against one server: `add` (positional params), a batch, the matrix
/// methods (including the 1 MiB answer) and the error code of an unknown method.
pub async fn check_client(c: &dyn RpcClient) -> Result<()> {
    fn ensure(ok: bool, what: String) -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(what.into())
        }
    }
    let sum = c.add(5, 3).await?;
    ensure(sum == 8, format!("add(5, 3) = {sum}"))?;
    let sum = c.add(-7, 2).await?;
    ensure(sum == -5, format!("add(-7, 2) = {sum}"))?;
    let got = c.batch_add(&[(1, 2), (3, 4), (10, -20)]).await?;
    ensure(got == [3, 7, -10], format!("batch of add = {got:?}"))?;
    let s = c.call_str("fast_call").await?;
    ensure(
        s == crate::common::FAST_ANSWER,
        format!("fast_call = {s:?}"),
    )?;
    let s = c.call_str("slow_call").await?;
    ensure(
        s == crate::common::SLOW_ANSWER,
        format!("slow_call = {s:?}"),
    )?;
    let s = c.call_str("memory_intense").await?;
    ensure(
        s.len() == MIB && s.bytes().all(|b| b == b'A'),
        format!("memory_intense: {} bytes", s.len()),
    )?;
    let v = c.batch_str("fast_call", 5).await?;
    ensure(
        v.len() == 5 && v.iter().all(|s| s == crate::common::FAST_ANSWER),
        format!("batch of fast_call = {v:?}"),
    )?;
    let code = c.unknown_method().await?;
    ensure(
        code == -32601,
        format!("unknown method answered code {code}"),
    )?;
    Ok(())
}

/// One interop pairing that passed or was skipped.
#[derive(Debug)]
pub struct Checked {
    /// "client lib / transport -> server lib".
    pub pairing: String,
    /// False when our side is not available yet.
    pub ran: bool,
}

/// Every client (both libraries, WebSocket and HTTP) against every server; the first failure is
/// returned as an error naming the pairing.
pub async fn run_all() -> Result<Vec<Checked>> {
    let mut servers = Vec::new();
    for lib in Lib::BOTH {
        if lib == Lib::Ours && !crate::ours::AVAILABLE {
            continue;
        }
        servers.push((lib, crate::sides::start_server(lib).await?));
    }
    let mut out = Vec::new();
    for server_lib in Lib::BOTH {
        for client_lib in Lib::BOTH {
            for transport in ["ws", "http"] {
                let pairing = format!(
                    "{} {transport} client -> {} server",
                    client_lib.name(),
                    server_lib.name()
                );
                let Some((_, running)) = servers.iter().find(|(l, _)| *l == server_lib) else {
                    out.push(Checked {
                        pairing,
                        ran: false,
                    });
                    continue;
                };
                if client_lib == Lib::Ours && !crate::ours::AVAILABLE {
                    out.push(Checked {
                        pairing,
                        ran: false,
                    });
                    continue;
                }
                let client = if transport == "ws" {
                    crate::sides::connect_ws(client_lib, &running.ws_url).await
                } else {
                    crate::sides::connect_http(client_lib, &running.http_url).await
                }
                .map_err(|e| format!("{pairing}: connect: {e}"))?;
                check_client(&*client)
                    .await
                    .map_err(|e| format!("{pairing}: {e}"))?;
                out.push(Checked { pairing, ran: true });
            }
        }
    }
    Ok(out)
}
