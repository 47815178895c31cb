//! Batches answered whole: a batch whose every member is a request to a method its
//! dispatcher answers at once ([`Dispatch::answers_at_once`]: a synchronous handler) is run
//! member by member on the connection's task and its array is written as the answers come,
//! with no in-flight slot, handle, queued call or per-call answer record in between. What the
//! peer gets is what the usual path sends: the same answers, in member order, in one array.
//! Any other frame (a single message, a notification or a response among the members, an
//! invalid member, a method that may run as a future, input the compact reading does not
//! take, a batch over a limit) goes the usual way, where its errors are answered.

use crate::protocol::batch::BatchWriter;
use crate::protocol::error::ErrorObject;
use crate::protocol::limits::DEFAULT_MAX_DEPTH;
use crate::protocol::message::{parse_compact, Entry, Incoming, Message};

use super::super::dispatch::{Answer, Reply};
use super::super::shared::Inner;
use super::slots::cap_response;
use super::Serving;

/// What [`take`] made of a frame.
pub(super) enum Taken<'a> {
    /// A batch this path answers whole: its members ([`answer`] them).
    Whole(Vec<Entry<'a>>),
    /// A batch read (compact, within the nesting limit) that goes the usual way: its members,
    /// for `Connection::handle_batch_calls`, so that the frame is not read twice.
    Read(Vec<Entry<'a>>),
    /// Not read: the usual way, from the frame's text.
    Unread,
}

/// Whether `frame` is a batch this path answers whole. Checked under the connection's lock:
/// the connection is open, no subscription awaits its answer (those go through the
/// connection, which tells it), and the batch fits the connection's limits (`max_batch_len`,
/// and `max_in_flight` with the calls already running, so no member would have been refused
/// as busy).
pub(super) fn take<'a>(frame: &'a [u8], inner: &Inner, serving: &Serving) -> Taken<'a> {
    if frame.first() != Some(&b'[') || inner.conn.is_closed() {
        return Taken::Unread;
    }
    let Some((Incoming::Batch(entries), depth)) =
        std::str::from_utf8(frame).ok().and_then(parse_compact)
    else {
        return Taken::Unread;
    };
    if depth > DEFAULT_MAX_DEPTH {
        return Taken::Unread;
    }
    let config = inner.conn.config();
    if inner.subs.server.awaiting_answers()
        || entries.len() > config.max_batch_len
        || inner.conn.in_flight().saturating_add(entries.len()) > config.max_in_flight
    {
        return Taken::Read(entries);
    }
    // One question per run of members calling the same method (batches usually repeat one).
    let mut known: Option<&str> = None;
    for entry in &entries {
        let Ok(Message::Request(request)) = entry else {
            return Taken::Read(entries);
        };
        if known != Some(&*request.method) {
            if !serving.dispatch.answers_at_once(&request.method) {
                return Taken::Read(entries);
            }
            known = Some(&request.method);
        }
    }
    Taken::Whole(entries)
}

/// Runs the requests [`take`] gave, in member order, and writes their answers into one array
/// (results over `max_response` bytes replaced by the error the usual path sends).
pub(super) fn answer(
    serving: &Serving,
    entries: Vec<Entry<'_>>,
    max_response: usize,
) -> Option<Vec<u8>> {
    let mut writer = BatchWriter::with_capacity(entries.len().saturating_mul(48).min(64 * 1024));
    for entry in entries {
        let Ok(Message::Request(request)) = entry else {
            continue;
        };
        let id = request.id.clone();
        let result = match serving.dispatch.request(&serving.ctx, request) {
            Reply::Ready(result) => result,
            Reply::Pending(_) => {
                tracing::error!(
                    "a dispatcher said it answers a method at once, then gave a future: \
                     the call is answered -32603"
                );
                Err(ErrorObject::internal_error()
                    .with_data("the handler did not answer at once as its dispatcher said"))
            }
        };
        let result = cap_response(result, max_response);
        writer.push_text(&id, result.as_ref().map(Answer::as_text));
    }
    writer.finish()
}
