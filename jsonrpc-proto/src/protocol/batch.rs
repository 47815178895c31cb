//! Batch rules: how the answers to one incoming batch are gathered and sent.
//!
//! - An empty batch `[]` is answered with one -32600 error object, not an array
//!   ([`crate::parse`] reports it as a single invalid entry).
//! - Each invalid member gets its own error entry; valid members are answered normally.
//! - Notifications get no entry; a batch of only notifications is answered with nothing at all.
//! - Every request id is answered exactly once; the entries may come in any order.

use serde_json::value::RawValue;

use crate::protocol::error::ErrorObject;
use crate::protocol::id::Id;
use crate::protocol::message::{response_len, write_response_text, ResultText};

/// A result longer than this gets its room reserved before its entry is written.
const LARGE_ENTRY: usize = 1024;

/// Gathers the response entries of one batch into a single JSON array.
#[derive(Debug, Default)]
pub struct BatchWriter {
    buf: Vec<u8>,
    entries: usize,
}

impl BatchWriter {
    /// An empty writer.
    pub fn new() -> Self {
        BatchWriter {
            buf: Vec::new(),
            entries: 0,
        }
    }

    /// A writer with room for `bytes` of output.
    pub fn with_capacity(bytes: usize) -> Self {
        BatchWriter {
            buf: Vec::with_capacity(bytes),
            entries: 0,
        }
    }

    fn sep(&mut self) {
        self.buf.push(if self.entries == 0 { b'[' } else { b',' });
        self.entries += 1;
    }

    /// Adds one response entry.
    pub fn push(&mut self, id: &Id, result: Result<&RawValue, &ErrorObject>) {
        self.push_text(id, result.map(ResultText::Json));
    }

    /// [`BatchWriter::push`] for a [`ResultText`].
    pub(crate) fn push_text(&mut self, id: &Id, result: Result<ResultText<'_>, &ErrorObject>) {
        // One reservation for a large entry: its result is copied once, not regrown while it
        // is written (small ones fit the room reserved for the batch).
        if result.is_ok_and(|r| r.json_len() > LARGE_ENTRY) {
            self.buf.reserve(1 + response_len(id, result));
        }
        self.sep();
        write_response_text(&mut self.buf, id, result);
    }

    /// Adds an already serialized response entry.
    pub fn push_raw(&mut self, response_json: &[u8]) {
        self.sep();
        self.buf.extend_from_slice(response_json);
    }

    /// The number of entries so far.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// True when no entry was added.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The array text, or `None` when there is nothing to send (only notifications).
    pub fn finish(mut self) -> Option<Vec<u8>> {
        if self.entries == 0 {
            return None;
        }
        self.buf.push(b']');
        Some(self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_entries_means_nothing_to_send() {
        assert_eq!(BatchWriter::new().finish(), None);
    }

    #[test]
    fn entries_form_one_array() {
        let mut w = BatchWriter::new();
        let one = RawValue::from_string("1".into()).unwrap();
        w.push(&Id::from(1u64), Ok(&one));
        w.push(&Id::Null, Err(&ErrorObject::invalid_request()));
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(
            text,
            r#"[{"jsonrpc":"2.0","result":1,"id":1},{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}]"#
        );
    }
}
