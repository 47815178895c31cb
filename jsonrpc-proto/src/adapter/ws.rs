//! WebSocket transport (feature `websocket`) over any tungstenite message stream, shared by every
//! runtime adapter: `tokio_tungstenite::WebSocketStream` and `async_tungstenite::WebSocketStream`
//! both fit. One JSON text (a message or a batch) per text frame.
//!
//! Binary frames are refused with a close frame (code 1003, "unsupported data") and end the
//! connection; pings are answered with pongs; a close from the peer ends the stream after the
//! close handshake.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures::{Sink, Stream};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Message, Utf8Bytes};

use crate::peer::{Transport, TransportError, TransportInfo, TransportKind};

/// The default limit on one WebSocket message: 10 MiB.
pub const DEFAULT_MAX_MESSAGE: usize = 10 * 1024 * 1024;

/// The reason sent in the close frame that refuses a binary message.
pub const BINARY_REFUSED: &str = "binary frames are not supported: send JSON-RPC as text frames";

/// The reason sent in the close frame (code 1009) that refuses a message over the size limit.
pub const TOO_BIG: &str = "message too big: over the receiver's WebSocket message size limit";

/// The reason sent with close code 1007 (a text message that is not UTF-8).
pub const INVALID_UTF8: &str = "invalid UTF-8 in a text message";

/// The reason sent with close code 1002 (a broken WebSocket framing rule).
pub const PROTOCOL_ERROR: &str =
    "WebSocket protocol error: reserved bits or opcode, bad control frame, or unmasked frame";

/// The reason sent in the close frame (code 1013, try again later) when the server is at its
/// connection limit.
pub const TOO_MANY_CONNECTIONS: &str = "too many connections: retry later";

/// The read buffer each WebSocket connection allocates up front and keeps: 512 bytes.
/// tungstenite's default (128 KiB, allocated eagerly) made an idle connection cost ~137 KiB of
/// server memory, and tungstenite zero-fills the free part of the buffer before each read, so a
/// small one is also cheaper per read. Once a frame header announces a larger frame, tungstenite
/// grows the buffer to fit it, so large messages are still read in large reads; only many small
/// frames pipelined back to back take more reads (64 `add` calls in flight: ~1 read per 5.6
/// calls instead of 1 per 9.9 with 2 KiB), for 1.5 KiB less per idle connection.
pub const READ_BUFFER_SIZE: usize = 512;

/// The WebSocket limits used by servers and clients.
pub fn ws_config(max_message: usize) -> WebSocketConfig {
    let mut config = WebSocketConfig::default();
    config.read_buffer_size = READ_BUFFER_SIZE;
    config.max_message_size = Some(max_message);
    config.max_frame_size = Some(max_message);
    config
}

/// Refuses an accepted WebSocket of a server at its connection limit: sends a close frame
/// (1013, [`TOO_MANY_CONNECTIONS`]) and waits for the peer's close reply. Bound it with a
/// timer; drop the socket afterwards.
pub async fn refuse_busy<S: WsStreamLike>(mut ws: S) {
    use futures::{SinkExt, StreamExt};
    let close = CloseFrame {
        code: CloseCode::Again,
        reason: Utf8Bytes::from_static(TOO_MANY_CONNECTIONS),
    };
    if ws.send(Message::Close(Some(close))).await.is_ok() {
        while let Some(Ok(_)) = ws.next().await {}
    }
}

type Shared<S> = Arc<Mutex<S>>;

/// What a WebSocket stream must be: a stream and sink of tungstenite messages (the
/// `WebSocketStream` of tokio-tungstenite or async-tungstenite, after the handshake).
pub trait WsStreamLike:
    Stream<Item = Result<Message, tungstenite::Error>>
    + Sink<Message, Error = tungstenite::Error>
    + Unpin
    + Send
    + 'static
{
}

impl<T> WsStreamLike for T where
    T: Stream<Item = Result<Message, tungstenite::Error>>
        + Sink<Message, Error = tungstenite::Error>
        + Unpin
        + Send
        + 'static
{
}

/// A WebSocket connection carrying JSON-RPC frames.
pub struct WsTransport<S> {
    ws: S,
    info: TransportInfo,
}

impl<S: WsStreamLike> WsTransport<S> {
    /// Wraps an established WebSocket (after the handshake, on either side).
    pub fn new(ws: S, info: TransportInfo) -> Self {
        WsTransport { ws, info }
    }

    /// Wraps an established WebSocket with info of kind [`TransportKind::WebSocket`].
    pub fn from_stream(ws: S) -> Self {
        Self::new(ws, TransportInfo::new(TransportKind::WebSocket))
    }
}

impl<S: WsStreamLike> Transport for WsTransport<S> {
    type Sink = WsSink<S>;
    type Stream = WsStream<S>;

    fn info(&self) -> TransportInfo {
        self.info.clone()
    }

    fn split(self) -> (Self::Sink, Self::Stream) {
        let shared = Arc::new(Mutex::new(self.ws));
        (
            WsSink { ws: shared.clone() },
            WsStream {
                ws: shared,
                state: ReadState::Open,
                refused: BINARY_REFUSED,
            },
        )
    }
}

fn lock<S>(ws: &Shared<S>) -> MutexGuard<'_, S> {
    // A panic while holding the lock cannot leave the stream half-updated in a way we rely on.
    ws.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn ws_err(e: tungstenite::Error) -> TransportError {
    match e {
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            TransportError::Closed
        }
        tungstenite::Error::Io(io) => TransportError::Io(io),
        tungstenite::Error::Capacity(c) => TransportError::Protocol(format!("WebSocket: {c}")),
        other => TransportError::Protocol(format!("WebSocket: {other}")),
    }
}

/// The Close frame a read error calls for: 1007 for invalid UTF-8 in a text message, 1002 for
/// a broken framing rule (reserved bits or opcodes, a fragmented or oversized control frame, an
/// unmasked client frame, a stray continuation, a bad close frame). `None` when the connection
/// is gone already (reset without Close, anything after a Close) or for IO errors.
fn close_code_for(e: &tungstenite::Error) -> Option<(CloseCode, &'static str)> {
    use tungstenite::error::ProtocolError as P;
    match e {
        tungstenite::Error::Utf8 => Some((CloseCode::Invalid, INVALID_UTF8)),
        tungstenite::Error::Protocol(
            P::ResetWithoutClosingHandshake | P::ReceivedAfterClosing | P::SendAfterClosing,
        ) => None,
        tungstenite::Error::Protocol(_) => Some((CloseCode::Protocol, PROTOCOL_ERROR)),
        _ => None,
    }
}

enum ReadState {
    Open,
    /// A binary or oversized message arrived: send this close frame, then report the error.
    Refusing(Option<CloseFrame>),
    Done,
}

/// The receiving half of a [`WsTransport`].
pub struct WsStream<S> {
    ws: Shared<S>,
    state: ReadState,
    /// Why the stream refused a message (for the error reported after the close frame).
    refused: &'static str,
}

impl<S: WsStreamLike> Stream for WsStream<S> {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                ReadState::Done => return Poll::Ready(None),
                ReadState::Refusing(frame) => {
                    let mut ws = lock(&this.ws);
                    if let Some(close) = frame.take() {
                        match Pin::new(&mut *ws).poll_ready(cx) {
                            Poll::Pending => {
                                *frame = Some(close);
                                return Poll::Pending;
                            }
                            Poll::Ready(Ok(())) => {
                                let _ = Pin::new(&mut *ws).start_send(Message::Close(Some(close)));
                            }
                            Poll::Ready(Err(_)) => {}
                        }
                    }
                    let _ = ready!(Pin::new(&mut *ws).poll_flush(cx));
                    drop(ws);
                    this.state = ReadState::Done;
                    return Poll::Ready(Some(Err(TransportError::Protocol(format!(
                        "WebSocket: {}",
                        this.refused
                    )))));
                }
                ReadState::Open => {
                    let next = ready!(Pin::new(&mut *lock(&this.ws)).poll_next(cx));
                    match next {
                        None => {
                            this.state = ReadState::Done;
                            return Poll::Ready(None);
                        }
                        Some(Err(tungstenite::Error::Capacity(e))) => {
                            tracing::debug!("refusing a WebSocket message: {e}");
                            this.refused = TOO_BIG;
                            this.state = ReadState::Refusing(Some(CloseFrame {
                                code: CloseCode::Size,
                                reason: Utf8Bytes::from_static(TOO_BIG),
                            }));
                        }
                        Some(Err(e)) if close_code_for(&e).is_some() => {
                            // RFC 6455 §7.1.7: fail the connection with a Close frame first,
                            // so the peer learns why (not just 1006).
                            tracing::debug!("the peer broke the WebSocket protocol: {e}");
                            let (code, reason) =
                                close_code_for(&e).unwrap_or((CloseCode::Protocol, PROTOCOL_ERROR));
                            this.refused = reason;
                            this.state = ReadState::Refusing(Some(CloseFrame {
                                code,
                                reason: Utf8Bytes::from_static(reason),
                            }));
                        }
                        Some(Err(e)) => {
                            this.state = ReadState::Done;
                            return match ws_err(e) {
                                TransportError::Closed => Poll::Ready(None),
                                other => Poll::Ready(Some(Err(other))),
                            };
                        }
                        Some(Ok(Message::Text(text))) => {
                            return Poll::Ready(Some(Ok(Bytes::from(text))));
                        }
                        Some(Ok(Message::Binary(_))) => {
                            tracing::debug!("refusing a binary WebSocket message");
                            this.refused = BINARY_REFUSED;
                            this.state = ReadState::Refusing(Some(CloseFrame {
                                code: CloseCode::Unsupported,
                                reason: Utf8Bytes::from_static(BINARY_REFUSED),
                            }));
                        }
                        Some(Ok(Message::Close(_))) => {
                            // tungstenite queued the close reply; the next poll sees the end.
                            continue;
                        }
                        // Pongs to pings are queued by tungstenite and written on the next poll.
                        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
                            continue
                        }
                    }
                }
            }
        }
    }
}

/// The sending half of a [`WsTransport`]: each frame goes out as one text message.
pub struct WsSink<S> {
    ws: Shared<S>,
}

impl<S: WsStreamLike> Sink<Bytes> for WsSink<S> {
    type Error = TransportError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut *lock(&self.ws))
            .poll_ready(cx)
            .map_err(ws_err)
    }

    fn start_send(self: Pin<&mut Self>, frame: Bytes) -> Result<(), Self::Error> {
        let text = Utf8Bytes::try_from(frame).map_err(|_| {
            TransportError::Protocol("WebSocket: a frame to send is not UTF-8".into())
        })?;
        Pin::new(&mut *lock(&self.ws))
            .start_send(Message::Text(text))
            .map_err(ws_err)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut *lock(&self.ws))
            .poll_flush(cx)
            .map_err(ws_err)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match ready!(Pin::new(&mut *lock(&self.ws)).poll_close(cx)) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(e) => match ws_err(e) {
                TransportError::Closed => Poll::Ready(Ok(())),
                other => Poll::Ready(Err(other)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::error::ProtocolError as P;

    #[test]
    fn protocol_errors_get_their_close_codes() {
        let code = |e| close_code_for(&e).map(|(c, _)| u16::from(c));
        assert_eq!(code(tungstenite::Error::Utf8), Some(1007));
        for p in [
            P::NonZeroReservedBits,
            P::UnknownControlFrameType(11),
            P::UnknownDataFrameType(3),
            P::FragmentedControlFrame,
            P::ControlFrameTooBig,
            P::UnmaskedFrameFromClient,
            P::MaskedFrameFromServer,
            P::UnexpectedContinueFrame,
            P::InvalidCloseSequence,
        ] {
            assert_eq!(code(tungstenite::Error::Protocol(p)), Some(1002));
        }
        // Nothing to say to a peer that is gone or already closing.
        for p in [
            P::ResetWithoutClosingHandshake,
            P::ReceivedAfterClosing,
            P::SendAfterClosing,
        ] {
            assert_eq!(code(tungstenite::Error::Protocol(p)), None);
        }
        assert_eq!(code(tungstenite::Error::ConnectionClosed), None);
    }
}
