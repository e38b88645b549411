//! A blocking client for the eardrum metrics protocol.
//!
//! [`Client`] keeps the shape of the course's Python client: connect once
//! (with an optional timeout), then [`put`](Client::put) and
//! [`get`](Client::get) over the same connection, with
//! [`get_all`](Client::get_all) for the protocol's `get *`.
//! [`put_many`](Client::put_many) pipelines large batches,
//! [`get_all_each`](Client::get_all_each) streams a large read, and
//! [`request`](Client::request) sends a raw line for shells. A point is one
//! [`Point`] everywhere; every connect function takes an [`Address`]; every
//! failure is one [`Error`] (also named [`ClientError`], the course's
//! name), and a failed call never returns partial data.
//!
//! It depends on the protocol crate only, so using it compiles no server.
//!
//! # Example
//!
//! ```no_run
//! use eardrum_client::{Client, Point};
//! use std::time::Duration;
//!
//! let mut client = Client::connect_timeout("127.0.0.1:8888", Duration::from_secs(5))?;
//! client.put("palm.cpu", 23.7, Some(1150864247))?;
//! let metrics = client.get("palm.cpu")?;
//! assert_eq!(metrics["palm.cpu"], [Point::new(1150864247, 23.7)]);
//! # Ok::<(), eardrum_client::Error>(())
//! ```

mod address;
mod client;
mod error;
mod point;
mod reads;
mod stream;

pub use address::Address;
pub use client::Client;
pub use eardrum_protocol::{PyFloat, Reply, Row};
pub use error::{ClientError, Error, Result};
pub use point::{Metrics, Point};
pub use stream::{ConnectOptions, TlsOptions};
