//! Socket counting for every runtime adapter, and the line a refused TCP client gets.

/// The line a raw TCP server writes to a client over its connection limit before closing:
/// a -32003 "Server busy" error with id null and `data` "too many connections", then `\n`.
pub fn too_many_connections_line() -> Vec<u8> {
    let error = crate::ErrorObject::server_busy().with_data("too many connections");
    let mut out = Vec::with_capacity(128);
    crate::protocol::message::write_response(&mut out, &crate::Id::Null, Err(&error));
    out.push(b'\n');
    out
}

/// Counts the sockets a server has open, for every runtime adapter: take a [`SocketSlot`] per
/// accepted socket (before any TLS handshake) and keep it, or a clone of the `Arc` holding it,
/// as long as the socket lives (an upgraded WebSocket included). A slot taken at the limit is
/// [`SocketSlot::busy`]: refuse that socket (HTTP 503 + `Connection: close`, WebSocket close
/// 1013, raw TCP [`too_many_connections_line`]).
///
/// ```
/// use jsonrpc_proto::adapter::slots::SocketSlots;
/// let slots = SocketSlots::new(1);
/// let a = slots.acquire();
/// let b = slots.acquire();
/// assert!(!a.busy() && b.busy());
/// assert_eq!(slots.open(), 2);
/// drop((a, b));
/// assert_eq!(slots.open(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct SocketSlots {
    open: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    max: usize,
}

impl SocketSlots {
    /// A counter allowing `max` sockets at once.
    pub fn new(max: usize) -> SocketSlots {
        SocketSlots {
            open: Default::default(),
            max,
        }
    }

    /// Counts one more socket; the slot is busy when `max` were already open.
    pub fn acquire(&self) -> SocketSlot {
        let before = self.open.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        SocketSlot {
            open: self.open.clone(),
            busy: before >= self.max,
        }
    }

    /// Sockets open now (refused ones included until they close).
    pub fn open(&self) -> usize {
        self.open.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// One counted socket; dropping it frees the slot.
#[derive(Debug)]
pub struct SocketSlot {
    open: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    busy: bool,
}

impl SocketSlot {
    /// True when the server was at its limit: refuse this socket.
    pub fn busy(&self) -> bool {
        self.busy
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
