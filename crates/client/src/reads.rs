//! Reading points: `get` of one key or of every key, whole or row by row.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::point::{group, Metrics, Point};
use eardrum_protocol::Reply;

/// What `get` asks for to read every key.
const ALL_KEYS: &str = "*";

/// A key to read alone: `*` would read every key.
fn check_read_key(key: &str) -> Result<()> {
    if key == ALL_KEYS {
        return Err(Error::InvalidKey {
            key: key.to_owned(),
            reason: "`get *` reads every key: call get_all (or get_all_each)",
        });
    }
    Ok(())
}

impl Client {
    /// Reads the points of `key`.
    ///
    /// # Errors
    ///
    /// [`Error::Server`] on an `error` reply, [`Error::MalformedReply`]
    /// when a row is not `key value timestamp` with a float value and an
    /// integer timestamp, [`Error::InvalidKey`] for `*` (the protocol's
    /// every key: [`get_all`](Client::get_all)), and any connection failure.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let mut client = eardrum_client::Client::connect("127.0.0.1:8888")?;
    /// let points = client.get("palm.cpu")?.swap_remove("palm.cpu").unwrap_or_default();
    /// # Ok::<(), eardrum_client::Error>(())
    /// ```
    pub fn get(&mut self, key: &str) -> Result<Metrics> {
        check_read_key(key)?;
        self.get_reply(key)
    }

    /// Reads the points of every key (`get *`).
    ///
    /// # Errors
    ///
    /// As [`get`](Client::get).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let mut client = eardrum_client::Client::connect("127.0.0.1:8888")?;
    /// for (key, points) in client.get_all()? {
    ///     println!("{key}: {} points", points.len());
    /// }
    /// # Ok::<(), eardrum_client::Error>(())
    /// ```
    pub fn get_all(&mut self) -> Result<Metrics> {
        self.get_reply(ALL_KEYS)
    }

    /// Reads the points of `key` row by row as they arrive:
    /// `visit(key, point)` in the server's order, without holding the reply
    /// in memory. Returns the number of rows.
    ///
    /// # Errors
    ///
    /// As [`get`](Client::get); unlike it, rows before a malformed one have
    /// already been visited.
    pub fn get_each(&mut self, key: &str, visit: impl FnMut(&str, Point)) -> Result<u64> {
        check_read_key(key)?;
        self.send_get(key)?;
        self.read_rows(visit)
    }

    /// Reads the points of every key row by row as they arrive, as
    /// [`get_each`](Client::get_each) does: an export of millions of points
    /// in little memory.
    ///
    /// # Errors
    ///
    /// As [`get_each`](Client::get_each).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let mut client = eardrum_client::Client::connect("127.0.0.1:8888")?;
    /// let mut sum = 0.0;
    /// client.get_all_each(|_key, point| sum += point.value)?;
    /// # Ok::<(), eardrum_client::Error>(())
    /// ```
    pub fn get_all_each(&mut self, visit: impl FnMut(&str, Point)) -> Result<u64> {
        self.send_get(ALL_KEYS)?;
        self.read_rows(visit)
    }

    /// Sends `get <key>` and reads the whole reply.
    fn get_reply(&mut self, key: &str) -> Result<Metrics> {
        self.send_get(key)?;
        match self.read_reply()? {
            Reply::Ok(rows) => Ok(group(rows)),
            Reply::Error(message) => Err(Error::Server { message }),
        }
    }

    /// Reads the rows of a `get` reply as they arrive.
    fn read_rows(&mut self, mut visit: impl FnMut(&str, Point)) -> Result<u64> {
        let mut status_read = false;
        let mut rows = 0;
        loop {
            // Whole lines first; an `error` reply is read whole, as `get`
            // reads it.
            let mut consumed = 0;
            while let Some(end) = memchr::memchr(b'\n', &self.input[consumed..]) {
                let line = &self.input[consumed..consumed + end];
                if !status_read {
                    match line {
                        b"ok" => status_read = true,
                        // Not `ok`: an `error` reply (or a malformed one),
                        // read whole as `get` reads it.
                        _ => {
                            return match self.read_reply()? {
                                Reply::Error(message) => Err(Error::Server { message }),
                                Reply::Ok(_) => Err(self.fail(Error::MalformedReply(
                                    eardrum_protocol::Error::MalformedReply {
                                        reason: "a reply that is not ok".into(),
                                    },
                                ))),
                            }
                        }
                    }
                } else if line.is_empty() {
                    self.input.drain(..consumed + end + 1);
                    return Ok(rows);
                } else {
                    match eardrum_protocol::reply::parse_row(line) {
                        Ok((key, value, timestamp)) => visit(key, Point::new(timestamp, value)),
                        Err(error) => return Err(self.fail(Error::MalformedReply(error))),
                    }
                    rows += 1;
                }
                consumed += end + 1;
            }
            self.input.drain(..consumed);
            self.fill_input()?;
        }
    }
}
