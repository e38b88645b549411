//! The blocking client.

use crate::address::Address;
use crate::error::{Error, Result};
use crate::point::Point;
use crate::stream::{ConnectOptions, Stream};
use eardrum_protocol::auth::write_auth_line;
use eardrum_protocol::reply::complete_len;
use eardrum_protocol::{format_value, Reply};
use std::io::{Read, Write};
use std::time::Duration;

/// How many puts [`Client::put_many`] sends before reading their replies.
/// Bounded so that neither side's socket buffers fill while the other waits.
const PIPELINE_WINDOW: usize = 1024;

/// A blocking connection to an eardrum server (or any server speaking the
/// course's protocol), kept open for every request.
#[derive(Debug)]
pub struct Client {
    stream: Stream,
    /// Bytes read but not yet consumed as a reply.
    pub(crate) input: Vec<u8>,
    /// Requests being written, reused between calls.
    output: Vec<u8>,
    broken: bool,
}

impl Client {
    /// Connects with no timeout: calls wait as long as the server takes.
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] when no address of `addr` accepts.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = eardrum_client::Client::connect("127.0.0.1:8888")?;
    /// # Ok::<(), eardrum_client::Error>(())
    /// ```
    pub fn connect(addr: impl Into<Address>) -> Result<Client> {
        Client::connect_with(addr, &ConnectOptions::default())
    }

    /// Connects with a timeout, as [`TcpStream::connect_timeout`](std::net::TcpStream::connect_timeout)
    /// takes one, that applies to connecting and to each later read and
    /// write.
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] when no address of `addr` accepts in time.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// let client = eardrum_client::Client::connect_timeout("localhost:8888", Duration::from_secs(5))?;
    /// # Ok::<(), eardrum_client::Error>(())
    /// ```
    pub fn connect_timeout(addr: impl Into<Address>, timeout: Duration) -> Result<Client> {
        Client::connect_with(addr, &ConnectOptions { timeout: Some(timeout), ..ConnectOptions::default() })
    }

    /// Connects to `addr` with a timeout, TLS and a token where the options
    /// ask for them: the TLS handshake and the `auth` exchange happen here,
    /// so a refused certificate or token fails the connect.
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] when no address accepts, [`Error::Tls`] when TLS
    /// cannot be set up or the server's certificate is not trusted,
    /// [`Error::Unauthorized`] when the server refuses the token.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use eardrum_client::{Client, ConnectOptions, TlsOptions};
    ///
    /// let options = ConnectOptions {
    ///     tls: Some(TlsOptions { ca_file: Some("ca.pem".into()), server_name: None }),
    ///     auth_token: Some("s3cret".into()),
    ///     ..ConnectOptions::default()
    /// };
    /// let client = Client::connect_with("metrics.example.com:8888", &options)?;
    /// # Ok::<(), eardrum_client::Error>(())
    /// ```
    pub fn connect_with(addr: impl Into<Address>, options: &ConnectOptions) -> Result<Client> {
        let addr = addr.into();
        let tcp = addr.connect_tcp(options.timeout)?;
        let stream = match &options.tls {
            Some(tls) => Stream::tls(tcp, addr.host(), tls)?,
            None => Stream::Plain(tcp),
        };
        let mut client = Client::over(stream);
        if let Some(token) = &options.auth_token {
            client.output.clear();
            write_auth_line(&mut client.output, token);
            client.send()?;
            match client.read_ok() {
                Err(Error::Server { message }) => return Err(Error::Unauthorized { message }),
                // A server that closes without a reply refused it too.
                Err(Error::Closed) => {
                    return Err(Error::Unauthorized { message: "connection closed".into() })
                }
                other => other?,
            }
        } else if let Stream::Tls(tls) = &mut client.stream {
            // Finish the handshake now, so that an untrusted certificate
            // fails the connect rather than the first request.
            while tls.conn.is_handshaking() {
                tls.conn.complete_io(&mut tls.sock).map_err(Error::from_io)?;
            }
        }
        Ok(client)
    }

    fn over(stream: Stream) -> Client {
        Client { stream, input: Vec::new(), output: Vec::new(), broken: false }
    }

    /// Stores one point; without a timestamp, the current Unix time in whole
    /// seconds is used.
    ///
    /// # Errors
    ///
    /// [`Error::Server`] when the server answers `error`,
    /// [`Error::InvalidKey`] for a key that cannot be sent, and any
    /// connection failure.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let mut client = eardrum_client::Client::connect("127.0.0.1:8888")?;
    /// client.put("palm.cpu", 23.7, Some(1150864247))?;
    /// client.put("palm.cpu", 24.1, None)?; // now
    /// # Ok::<(), eardrum_client::Error>(())
    /// ```
    pub fn put(&mut self, key: &str, value: f64, timestamp: Option<i64>) -> Result<()> {
        check_key(key)?;
        let timestamp = timestamp.unwrap_or_else(eardrum_protocol::clock::unix_seconds);
        self.output.clear();
        encode_put(&mut self.output, key, value, timestamp);
        self.send()?;
        self.read_ok()
    }

    /// Stores many points, pipelined: requests go out in windows and their
    /// replies are read per window, far faster than one [`put`](Client::put)
    /// each.
    ///
    /// # Errors
    ///
    /// As [`put`](Client::put). On an `error` reply the points before it
    /// are stored, the rest of its window was sent and may be stored, and no
    /// later window is sent.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use eardrum_client::Point;
    ///
    /// let mut client = eardrum_client::Client::connect("127.0.0.1:8888")?;
    ///
    /// let points = (0..1000).map(|i| ("palm.cpu", Point::new(1150864247 + i, i as f64)));
    /// client.put_many(points)?;
    /// # Ok::<(), eardrum_client::Error>(())
    /// ```
    pub fn put_many<K: AsRef<str>>(&mut self, points: impl IntoIterator<Item = (K, Point)>) -> Result<()> {
        let mut points = points.into_iter().peekable();
        while points.peek().is_some() {
            self.output.clear();
            let mut sent = 0;
            for (key, point) in points.by_ref().take(PIPELINE_WINDOW) {
                let key = key.as_ref();
                check_key(key)?;
                encode_put(&mut self.output, key, point.value, point.timestamp);
                sent += 1;
            }
            self.send()?;
            let mut first_failure = None;
            for _ in 0..sent {
                if let Err(error) = self.read_ok() {
                    match error {
                        Error::Server { .. } => {
                            first_failure.get_or_insert(error);
                        }
                        other => return Err(other),
                    }
                }
            }
            if let Some(error) = first_failure {
                return Err(error);
            }
        }
        Ok(())
    }

    /// Sends one raw request line (a `\n` is added) and returns the decoded
    /// reply, `error` replies included: for shells and tools that pass on
    /// what a person typed.
    ///
    /// # Errors
    ///
    /// Connection failures and malformed replies;
    /// [`Error::InvalidRequest`] for a blank line, which the server
    /// would never answer, or one holding `\n`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use eardrum_client::Reply;
    ///
    /// let mut client = eardrum_client::Client::connect("127.0.0.1:8888")?;
    /// if let Reply::Error(message) = client.request("got palm.cpu")? {
    ///     eprintln!("server said: {message}");
    /// }
    /// # Ok::<(), eardrum_client::Error>(())
    /// ```
    pub fn request(&mut self, line: &str) -> Result<Reply> {
        if line.trim().is_empty() || line.contains('\n') {
            return Err(Error::InvalidRequest);
        }
        self.output.clear();
        self.output.extend_from_slice(line.as_bytes());
        self.output.push(b'\n');
        self.send()?;
        self.read_reply()
    }

    /// Sends `get <key>`.
    pub(crate) fn send_get(&mut self, key: &str) -> Result<()> {
        check_key(key)?;
        self.output.clear();
        self.output.extend_from_slice(b"get ");
        self.output.extend_from_slice(key.as_bytes());
        self.output.push(b'\n');
        self.send()
    }

    pub(crate) fn send(&mut self) -> Result<()> {
        if self.broken {
            return Err(Error::Broken);
        }
        let written = self.stream.write_all(&self.output).and_then(|()| self.stream.flush());
        written.map_err(|error| self.fail(Error::from_io(error)))
    }

    fn read_ok(&mut self) -> Result<()> {
        match self.read_reply()? {
            Reply::Ok(rows) if rows.is_empty() => Ok(()),
            Reply::Ok(_) => Err(self.fail(Error::MalformedReply(eardrum_protocol::Error::MalformedReply {
                reason: "rows in the reply to a put".into(),
            }))),
            Reply::Error(message) => Err(Error::Server { message }),
        }
    }

    /// Reads until one whole reply is buffered, and no further than the
    /// socket delivers.
    pub(crate) fn read_reply(&mut self) -> Result<Reply> {
        let mut searched = 0;
        loop {
            if let Some(len) = complete_len(&self.input, searched) {
                return match Reply::decode(&self.input[..len]) {
                    Ok(Some((reply, _))) => {
                        self.input.drain(..len);
                        Ok(reply)
                    }
                    Ok(None) => Err(self.fail(Error::Closed)),
                    Err(error) => Err(self.fail(Error::MalformedReply(error))),
                };
            }
            searched = self.input.len();
            self.fill_input()?;
        }
    }

    /// Appends what the socket has (at least a byte) to the input buffer.
    pub(crate) fn fill_input(&mut self) -> Result<()> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(self.fail(Error::Closed)),
                Ok(n) => {
                    self.input.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Err(self.fail(Error::from_io(error))),
            }
        }
    }

    /// Marks the connection out of step: a late or half-read reply would
    /// otherwise be taken for the answer to the next request.
    pub(crate) fn fail(&mut self, error: Error) -> Error {
        self.broken = true;
        error
    }
}

fn encode_put(out: &mut Vec<u8>, key: &str, value: f64, timestamp: i64) {
    out.extend_from_slice(b"put ");
    out.extend_from_slice(key.as_bytes());
    out.push(b' ');
    // Python's repr is the shortest text that reads back to the same double.
    format_value(value, out);
    out.push(b' ');
    out.extend_from_slice(timestamp.to_string().as_bytes());
    out.push(b'\n');
}

pub(crate) fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.bytes().any(|b| b.is_ascii_whitespace() || b == b'\x0b') {
        return Err(Error::InvalidKey {
            key: key.to_owned(),
            reason: "keys are non-empty and have no whitespace",
        });
    }
    Ok(())
}
