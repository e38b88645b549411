//! A blocking client for the eardrum metrics protocol.
//!
//! [`Client`] keeps the shape of the course's Python client: connect once
//! (with an optional timeout), then [`put`](Client::put) and
//! [`get`](Client::get) over the same connection. [`put_many`](Client::put_many)
//! pipelines large batches, and [`request`](Client::request) sends a raw
//! line for shells. Every failure is one [`ClientError`], and a failed call
//! never returns partial data.
//!
//! It depends on the protocol crate only, so using it compiles no server.
//!
//! # Example
//!
//! ```no_run
//! use eardrum_client::Client;
//! use std::time::Duration;
//!
//! let mut client = Client::connect_timeout("127.0.0.1:8888", Some(Duration::from_secs(5)))?;
//! client.put("palm.cpu", 23.7, Some(1150864247))?;
//! let metrics = client.get("palm.cpu")?;
//! assert_eq!(metrics["palm.cpu"], [(1150864247, 23.7)]);
//! # Ok::<(), eardrum_client::ClientError>(())
//! ```

mod client;
mod error;
pub mod fleet;
mod stream;

pub use client::{Client, Metrics};
pub use eardrum_protocol::{PyFloat, Reply, Row};
pub use error::{ClientError, Result};
pub use stream::{ConnectOptions, TlsOptions};
