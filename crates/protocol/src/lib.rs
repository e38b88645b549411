//! The eardrum metrics protocol, as bytes in and bytes out.
//!
//! This crate owns the wire format that the server and the client share, and
//! does no I/O: callers hand it buffered bytes and get requests or replies
//! back, which keeps it a pure function that tests and fuzzers can drive
//! directly. The contract it implements is `shared/PROTOCOL.md`.
//!
//! # Brief overview
//!
//! - [`next_line`] frames a buffer into lines under a length bound, and
//!   [`Request::parse`] turns one line into a [`Request`] (or `None` for a
//!   blank line, which gets no reply).
//! - [`reply`] encodes the server's replies and decodes them for a client
//!   with [`Reply::decode`].
//! - [`auth`]: the opt-in `auth <token>` first line.
//! - [`clock`]: the wall clock in Unix time, read the same way everywhere.
//! - [`graphite`]: Graphite's plaintext lines (`name value timestamp`), for
//!   the server's Graphite listener.
//! - [`parse_value`] / [`parse_timestamp`] read numbers as Python's `float()`
//!   and `int()` do, and [`format_value`] prints values as Python's
//!   `repr(float)`, because the course's reference server is written in
//!   Python and clients compare its bytes.
//!
//! # Example
//!
//! ```
//! use eardrum_protocol::{next_line, reply, Request};
//!
//! let mut buf: &[u8] = b"put palm.cpu 23.7 1150864247\nget palm.cpu\n";
//! let mut out = Vec::new();
//! while let Some((line, used)) = next_line(buf, 1024).unwrap() {
//!     match Request::parse(line) {
//!         Ok(Some(Request::Put(put))) => {
//!             assert_eq!(put.value, 23.7);
//!             out.extend_from_slice(reply::OK_REPLY);
//!         }
//!         Ok(Some(Request::Get(_))) => {
//!             reply::begin_ok(&mut out);
//!             reply::write_row(&mut out, "palm.cpu", 23.7, 1150864247);
//!             reply::end_reply(&mut out);
//!         }
//!         Ok(None) => {}
//!         Err(_) => out.extend_from_slice(reply::ERROR_REPLY),
//!     }
//!     buf = &buf[used..];
//! }
//! assert_eq!(out, b"ok\n\nok\npalm.cpu 23.7 1150864247\n\n");
//! ```

pub mod auth;
pub mod clock;
mod error;
pub mod graphite;
mod number;
pub mod reply;
mod repr;
mod request;

pub use error::{Error, Result};
pub use number::{parse_timestamp, parse_value};
pub use reply::{Reply, Row};
pub use repr::{format_value, PyFloat};
pub use request::{check_key, next_line, parse_put_line, Put, Request, Selector, DEFAULT_MAX_LINE_BYTES};
