//! The calls a connection is running for its peer: their slots (answer handle, abort handle,
//! generation, start), the running handler futures, and the cap on a result's size.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context as TaskCx, Poll};
use std::time::Instant;

use futures::future::{AbortHandle, Abortable, Aborted, BoxFuture, CatchUnwind, FutureExt};

use crate::protocol::connection::ResponseHandle;
use crate::protocol::error::{ErrorCode, ErrorObject};

use super::super::dispatch::CallResult;

/// A future whose panic is caught.
pub(super) type Guarded<T> = CatchUnwind<AssertUnwindSafe<BoxFuture<'static, T>>>;

pub(super) struct Slot {
    pub(super) handle: Option<ResponseHandle>,
    pub(super) abort: Option<AbortHandle>,
    pub(super) gen: u32,
    pub(super) started: Instant,
    /// Kept only when hooks must hear about timeouts and cancellations.
    pub(super) method: Option<Box<str>>,
}

pub(super) struct Running {
    pub(super) key: usize,
    pub(super) fut: Abortable<Work>,
}

/// A handler under way: polled by this connection's task, or (with `spawn_calls`) running on
/// a task of its own, this being the handle to its outcome. Dropping either drops the handler.
pub(super) enum Work {
    Inline(Guarded<CallResult>),
    Spawned(futures::future::RemoteHandle<std::thread::Result<CallResult>>),
}

impl Future for Work {
    type Output = std::thread::Result<CallResult>;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Work::Inline(f) => f.poll_unpin(cx),
            Work::Spawned(h) => h.poll_unpin(cx),
        }
    }
}

impl Future for Running {
    type Output = (usize, Result<std::thread::Result<CallResult>, Aborted>);
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Self::Output> {
        let key = self.key;
        self.fut.poll_unpin(cx).map(|r| (key, r))
    }
}

/// The slot table: a running call's key indexes it; freed slots are reused.
#[derive(Default)]
pub(super) struct Slots {
    slots: Vec<Slot>,
    free: Vec<usize>,
}

impl Slots {
    /// Takes a free slot (or a new one) for a running call: its key and generation.
    pub(super) fn alloc(
        &mut self,
        handle: ResponseHandle,
        abort: AbortHandle,
        started: Instant,
        method: Option<Box<str>>,
    ) -> (usize, u32) {
        match self.free.pop() {
            Some(key) => {
                let slot = &mut self.slots[key];
                slot.handle = Some(handle);
                slot.abort = Some(abort);
                slot.started = started;
                slot.method = method;
                (key, slot.gen)
            }
            None => {
                self.slots.push(Slot {
                    handle: Some(handle),
                    abort: Some(abort),
                    gen: 0,
                    started,
                    method,
                });
                (self.slots.len() - 1, 0)
            }
        }
    }

    /// Gives a slot back; its generation moves on so stale deadlines miss it.
    pub(super) fn free(&mut self, key: usize) {
        if let Some(slot) = self.slots.get_mut(key) {
            slot.handle = None;
            slot.abort = None;
            slot.method = None;
            slot.gen = slot.gen.wrapping_add(1);
            self.free.push(key);
        }
    }

    /// True when no slot is taken.
    pub(super) fn all_free(&self) -> bool {
        self.free.len() == self.slots.len()
    }

    pub(super) fn iter(&self) -> std::slice::Iter<'_, Slot> {
        self.slots.iter()
    }

    pub(super) fn get(&self, key: usize) -> Option<&Slot> {
        self.slots.get(key)
    }

    pub(super) fn get_mut(&mut self, key: usize) -> Option<&mut Slot> {
        self.slots.get_mut(key)
    }
}

impl std::ops::Index<usize> for Slots {
    type Output = Slot;
    fn index(&self, key: usize) -> &Slot {
        &self.slots[key]
    }
}

/// Replaces a result larger than `max` bytes by a -32603 error that says so.
pub(crate) fn cap_response(result: CallResult, max: usize) -> CallResult {
    match result {
        Ok(raw) if raw.json_len() > max => {
            tracing::warn!(
                size = raw.json_len(),
                limit = max,
                "response too large: replaced by an error"
            );
            Err(
                ErrorObject::new(ErrorCode::INTERNAL_ERROR, "Response too large").with_data(
                    format!(
                        "the result is {} bytes; the server's limit is {max}",
                        raw.json_len()
                    ),
                ),
            )
        }
        other => other,
    }
}
