//! systemd socket activation: the listeners systemd (or `systemd-socket-activate`) bound and
//! passed as file descriptors 3, 4, … (`LISTEN_FDS`, `LISTEN_PID`, optionally
//! `LISTEN_FDNAMES`), sorted into the HTTP, raw TCP and Unix listeners the server builder takes
//! (`.http_listener(..)`, `.tcp_listener(..)`, `.unix_listener(..)`).
//!
//! Which is which: a descriptor named `http`, `tcp` or `unix` (`FileDescriptorName=` in the
//! socket unit, `--fdname=` for `systemd-socket-activate`) goes there; an unnamed TCP socket is
//! the HTTP listener, the next one the raw TCP listener; an unnamed Unix socket is the Unix
//! listener. The descriptors are taken with the `listenfd` crate, which checks `LISTEN_PID`.

use std::net::TcpListener;
use std::os::unix::net::UnixListener;

/// The listeners passed in by the service manager.
#[derive(Debug, Default)]
pub struct Activated {
    /// HTTP + WebSocket.
    pub http: Option<TcpListener>,
    /// Newline-delimited JSON over TCP.
    pub tcp: Option<TcpListener>,
    /// Newline-delimited JSON over a Unix socket.
    pub unix: Option<UnixListener>,
    /// What could not be used, one line each (e.g. a UDP socket, a second Unix socket).
    pub ignored: Vec<String>,
}

impl Activated {
    /// True when nothing was passed in.
    pub fn is_empty(&self) -> bool {
        self.http.is_none() && self.tcp.is_none() && self.unix.is_none()
    }

    /// Hands the listeners to a server builder (either runtime's: the methods are the same).
    pub fn apply<L: jsonrpc_proto::adapter::builder::Listen>(
        self,
        mut builder: jsonrpc_proto::adapter::builder::ServerBuilder<L>,
    ) -> jsonrpc_proto::adapter::builder::ServerBuilder<L> {
        if let Some(l) = self.http {
            builder = builder.http_listener(l);
        }
        if let Some(l) = self.tcp {
            builder = builder.tcp_listener(l);
        }
        if let Some(l) = self.unix {
            builder = builder.unix_listener(l);
        }
        builder
    }
}

/// Takes the listeners passed by the service manager to this process (none when `LISTEN_PID`
/// is not this process's id).
pub fn from_env() -> Activated {
    let names: Vec<String> = std::env::var("LISTEN_FDNAMES")
        .map(|v| v.split(':').map(str::to_owned).collect())
        .unwrap_or_default();
    let mut fds = listenfd::ListenFd::from_env();
    let mut out = Activated::default();
    for i in 0..fds.len() {
        let fd = 3 + i;
        let name = names.get(i).map(String::as_str).unwrap_or("");
        if let Ok(Some(l)) = fds.take_tcp_listener(i) {
            let slot = match name {
                "tcp" => &mut out.tcp,
                "http" => &mut out.http,
                _ if out.http.is_none() => &mut out.http,
                _ => &mut out.tcp,
            };
            if slot.is_some() {
                out.ignored.push(format!(
                    "fd {fd} ({name:?}): a second TCP listener of its kind"
                ));
            } else {
                *slot = Some(l);
            }
        } else if let Ok(Some(l)) = fds.take_unix_listener(i) {
            if out.unix.is_some() {
                out.ignored
                    .push(format!("fd {fd} ({name:?}): a second Unix listener"));
            } else {
                out.unix = Some(l);
            }
        } else {
            out.ignored
                .push(format!("fd {fd} ({name:?}): not a stream listener"));
        }
    }
    out
}
