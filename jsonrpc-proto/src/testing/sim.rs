//! A deterministic harness for two connected [`Connection`]s with a virtual clock, in the spirit
//! of quinn-proto's test `Pair`: step and drive them, advance time, drop or delay frames, so
//! timeouts and races are tested without sleeping or sockets.
//!
//! ```
//! use std::time::Duration;
//! use jsonrpc_proto::connection::Event;
//! use jsonrpc_proto::sim::{Pair, Side};
//!
//! let mut pair = Pair::default();
//! let id = pair.client.request("ping", None, pair.now).unwrap();
//! pair.drive();
//! let Some(Event::Request(call)) = pair.server.poll_event() else { panic!() };
//! let pong = jsonrpc_proto::RawValue::from_string("\"pong\"".into()).unwrap();
//! pair.server.respond(call.handle, Ok(&pong)).unwrap();
//! pair.drive();
//! match pair.client.poll_event() {
//!     Some(Event::Response { id: got, result: Ok(v) }) => {
//!         assert_eq!(got, id);
//!         assert_eq!(v.get(), "\"pong\"");
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # let _ = (Side::Client, Duration::ZERO);
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::protocol::connection::{Config, Connection};

/// One end of a [`Pair`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The `client` connection.
    Client,
    /// The `server` connection.
    Server,
}

struct Link {
    queue: VecDeque<(Instant, Bytes)>,
    latency: Duration,
    drop_next: usize,
    delivered: usize,
    dropped: usize,
}

impl Link {
    fn new() -> Self {
        Link {
            queue: VecDeque::new(),
            latency: Duration::ZERO,
            drop_next: 0,
            delivered: 0,
            dropped: 0,
        }
    }
}

/// Two connections joined by two one-way links, under a virtual clock.
pub struct Pair {
    /// The connection that plays the client (any side may call the other).
    pub client: Connection,
    /// The connection that plays the server.
    pub server: Connection,
    /// The virtual time.
    pub now: Instant,
    to_server: Link,
    to_client: Link,
}

impl Default for Pair {
    fn default() -> Self {
        Pair::new(Config::default(), Config::default())
    }
}

impl Pair {
    /// Two connections with the given configs, at a fixed starting instant.
    pub fn new(client: Config, server: Config) -> Self {
        Pair {
            client: Connection::new(client),
            server: Connection::new(server),
            now: Instant::now(),
            to_server: Link::new(),
            to_client: Link::new(),
        }
    }

    fn link(&mut self, from: Side) -> &mut Link {
        match from {
            Side::Client => &mut self.to_server,
            Side::Server => &mut self.to_client,
        }
    }

    /// Frames sent by `from` take `latency` of virtual time to arrive.
    pub fn set_latency(&mut self, from: Side, latency: Duration) {
        self.link(from).latency = latency;
    }

    /// The next `n` frames sent by `from` are lost.
    pub fn drop_next(&mut self, from: Side, n: usize) {
        self.link(from).drop_next += n;
    }

    /// Frames delivered from `from` to the other side so far.
    pub fn delivered(&mut self, from: Side) -> usize {
        self.link(from).delivered
    }

    /// Frames from `from` lost so far.
    pub fn dropped(&mut self, from: Side) -> usize {
        self.link(from).dropped
    }

    /// Frames sent by `from` that are still on their way.
    pub fn in_transit(&mut self, from: Side) -> usize {
        self.link(from).queue.len()
    }

    /// Injects a raw frame as if `from` had sent it (it travels with the link's latency).
    pub fn inject(&mut self, from: Side, frame: impl Into<Bytes>) {
        let at = self.now + self.link(from).latency;
        self.link(from).queue.push_back((at, frame.into()));
    }

    /// One round: both sides' queued frames enter the links, frames due by now are delivered,
    /// and both sides see the current time. Returns true when anything moved.
    pub fn step(&mut self) -> bool {
        let mut moved = false;
        let now = self.now;
        for side in [Side::Client, Side::Server] {
            loop {
                let frame = match side {
                    Side::Client => self.client.poll_transmit(),
                    Side::Server => self.server.poll_transmit(),
                };
                let Some(frame) = frame else { break };
                moved = true;
                let link = self.link(side);
                if link.drop_next > 0 {
                    link.drop_next -= 1;
                    link.dropped += 1;
                } else {
                    let at = now + link.latency;
                    link.queue.push_back((at, frame));
                }
            }
        }
        for side in [Side::Client, Side::Server] {
            while let Some((at, _)) = self.link(side).queue.front() {
                if *at > now {
                    break;
                }
                let Some((_, frame)) = self.link(side).queue.pop_front() else {
                    break;
                };
                self.link(side).delivered += 1;
                moved = true;
                match side {
                    Side::Client => self.server.handle_frame(&frame, now),
                    Side::Server => self.client.handle_frame(&frame, now),
                }
            }
        }
        self.client.handle_timeout(now);
        self.server.handle_timeout(now);
        moved
    }

    /// Steps until nothing moves at the current time (bounded: at most 10,000 rounds).
    pub fn drive(&mut self) {
        for _ in 0..10_000 {
            if !self.step() {
                return;
            }
        }
    }

    /// Advances the virtual clock by `by`, then drives both sides.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.drive();
    }

    /// The earliest instant at which something is due: a frame arrival or a deadline.
    pub fn next_wakeup(&self) -> Option<Instant> {
        [
            self.to_server.queue.front().map(|(at, _)| *at),
            self.to_client.queue.front().map(|(at, _)| *at),
            self.client.poll_timeout(),
            self.server.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Jumps the clock to the next wake-up (if any) and drives. Returns false when idle.
    pub fn run_next(&mut self) -> bool {
        match self.next_wakeup() {
            Some(at) => {
                if at > self.now {
                    self.now = at;
                }
                self.drive();
                true
            }
            None => false,
        }
    }
}
