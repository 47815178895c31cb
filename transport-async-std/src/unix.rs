//! Unix domain sockets: the server's listener (newline-delimited JSON, as on TCP; a stale
//! socket file replaced, a live one refused, permissions set, the file removed on shutdown:
//! `jsonrpc_proto::adapter::unix`'s decisions) and the client, [`connect_unix`].

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_net::unix::{UnixListener, UnixStream};
use futures::future::{self, Either};
use jsonrpc_proto::adapter::builder::StartError;
use jsonrpc_proto::adapter::framed::StreamTransport;
use jsonrpc_proto::adapter::http::ConnectError;
use jsonrpc_proto::adapter::lifecycle::Lifecycle;
use jsonrpc_proto::adapter::slots::{SocketSlot, SocketSlots};
use jsonrpc_proto::adapter::unix::{bind_error, clear_stale, socket_file_present, UnixSocketFile};
use jsonrpc_proto::peer::{Client, Server as ProtoServer, TransportInfo, TransportKind};

use crate::connect::{client, BoxIo, ConnectOptions};
use crate::runtime::AsyncIoRuntime;
use jsonrpc_proto::adapter::reconnect::{ConnectFn, ReconnectConfig, Reconnecting};

/// What the Unix accept loop needs of the server (the listener's share of its state).
pub(crate) struct UnixServe {
    pub(crate) proto: ProtoServer,
    pub(crate) sockets: SocketSlots,
    pub(crate) lifecycle: Lifecycle,
    /// How long the one error line to a refused socket may take.
    pub(crate) refuse_timeout: Duration,
    pub(crate) runtime: AsyncIoRuntime,
}

impl UnixServe {
    fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.runtime.spawn(self.lifecycle.track(task));
    }
}

/// Binds a Unix listener at `path`: a socket file a dead server left is replaced, one a live
/// server answers on is [`StartError::UnixInUse`].
pub(crate) async fn bind(
    path: &Path,
    mode: Option<u32>,
) -> Result<(UnixListener, UnixSocketFile), StartError> {
    if socket_file_present(path)? {
        let probe = UnixStream::connect(path).await.map(drop);
        clear_stale(path, probe)?;
    }
    let listener = UnixListener::bind(path).map_err(|e| bind_error(path, e))?;
    Ok((listener, UnixSocketFile::bound(path, mode)?))
}

/// Takes a Unix listener bound elsewhere (e.g. by systemd): its file is reported, not removed.
pub(crate) fn handed_in(
    l: std::os::unix::net::UnixListener,
) -> Result<(UnixListener, UnixSocketFile), StartError> {
    let path = l
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(Path::to_owned))
        .unwrap_or_default();
    let listener = UnixListener::try_from(l).map_err(|e| bind_error(&path, e))?;
    Ok((listener, UnixSocketFile::not_owned(&path)))
}

/// Accepts Unix connections until shutdown and serves each as newline-delimited JSON.
pub(crate) async fn accept_loop(shared: Arc<UnixServe>, listener: UnixListener) {
    loop {
        let accepted = {
            let accept = listener.accept();
            let stop = shared.lifecycle.shutdown_requested();
            futures::pin_mut!(accept);
            futures::pin_mut!(stop);
            match future::select(accept, stop).await {
                Either::Left((r, _)) => r,
                Either::Right(_) => break,
            }
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                async_io::Timer::after(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = shared.sockets.acquire();
        if slot.busy() {
            tracing::warn!(
                limit = shared.sockets.max(),
                "too many connections: refusing one"
            );
        }
        let conn = shared.clone();
        shared.spawn(serve(conn, stream, slot));
    }
    tracing::debug!("Unix listener closed");
}

async fn serve(shared: Arc<UnixServe>, stream: UnixStream, slot: SocketSlot) {
    if slot.busy() {
        use futures::io::AsyncWriteExt;
        let mut stream = stream;
        let line = jsonrpc_proto::adapter::slots::too_many_connections_line();
        let write = async move {
            let _ = stream.write_all(&line).await;
            let _ = stream.close().await;
        };
        futures::pin_mut!(write);
        let timer = async_io::Timer::after(shared.refuse_timeout);
        let _ = future::select(write, timer).await;
        return;
    }
    let transport = StreamTransport::lines_duplex(stream).with_info(unix_info());
    shared.proto.serve(transport).await;
}

fn unix_info() -> TransportInfo {
    TransportInfo::new(TransportKind::Unix)
}

/// The byte-stream transport of a Unix socket client (newline-delimited JSON).
pub type UnixTransport =
    StreamTransport<futures::io::ReadHalf<BoxIo>, futures::io::WriteHalf<BoxIo>>;

/// Opens newline-delimited JSON over the Unix domain socket at `path`.
pub async fn unix_transport(path: impl AsRef<Path>) -> Result<UnixTransport, ConnectError> {
    let path = path.as_ref();
    let stream = UnixStream::connect(path)
        .await
        .map_err(|source| ConnectError::Io {
            addr: path.display().to_string(),
            source,
        })?;
    let io: BoxIo = Box::pin(stream);
    Ok(StreamTransport::lines_duplex(io).with_info(unix_info()))
}

/// A client over the Unix domain socket at `path` (newline-delimited JSON).
///
/// ```no_run
/// # async fn f() -> Result<(), transport_async_std::ConnectError> {
/// let client = transport_async_std::connect_unix("/run/calc.sock").await?;
/// # Ok(()) }
/// ```
pub async fn connect_unix(path: impl AsRef<Path>) -> Result<Client, ConnectError> {
    connect_unix_with(path, ConnectOptions::default()).await
}

/// A client over the Unix domain socket at `path` with options (its `tls`, `headers` and
/// `http` are not used).
pub async fn connect_unix_with(
    path: impl AsRef<Path>,
    options: ConnectOptions,
) -> Result<Client, ConnectError> {
    let transport = unix_transport(path).await?;
    Ok(client(transport, options))
}

/// A client over the Unix socket at `path` that reconnects like
/// [`reconnect_tcp`](crate::reconnect_tcp) (e.g. across a restart of the server).
pub fn reconnect_unix(
    path: impl AsRef<Path>,
    options: ConnectOptions,
    config: ReconnectConfig,
) -> Reconnecting {
    let path = path.as_ref().to_owned();
    let runtime = options.runtime.clone().unwrap_or_default();
    let connect: ConnectFn = Arc::new(move || {
        let (path, options) = (path.clone(), options.clone());
        Box::pin(async move { connect_unix_with(&path, options).await })
    });
    Reconnecting::new(connect, config, runtime)
}
