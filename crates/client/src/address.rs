//! Where a server listens, and the TCP connection to it.

use crate::error::{Error, Result};
use std::fmt;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// A server's address, as every connect function takes it: `host:port`
/// with a name or an IP (`[v6]:port` for IPv6), or a socket address.
///
/// It converts from `&str`, `String`, `SocketAddr` and `(host, port)`, so
/// `Client::connect("localhost:8888")`, `Client::connect(socket_addr)` and
/// `Client::connect(("localhost", 8888))` all work. The host is resolved on
/// connecting, and is the name TLS verifies the certificate against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address(String);

impl Address {
    /// The host part, without the port (and without an IPv6 address's
    /// brackets).
    pub fn host(&self) -> &str {
        let text = self.0.as_str();
        if let Some(bracketed) = text.strip_prefix('[') {
            return bracketed.split(']').next().unwrap_or(bracketed);
        }
        match text.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => host,
            _ => text,
        }
    }

    /// A TCP connection to the first of the host's addresses that accepts,
    /// with `timeout` on connecting, reads and writes.
    pub(crate) fn connect_tcp(&self, timeout: Option<Duration>) -> Result<TcpStream> {
        let connect_error = |source| Error::Connect { addr: self.0.clone(), source };
        let candidates: Vec<SocketAddr> = self.0.to_socket_addrs().map_err(connect_error)?.collect();
        let mut last_error =
            std::io::Error::new(std::io::ErrorKind::NotFound, "the host resolved to no address");
        for socket_addr in candidates {
            let attempt = match timeout {
                Some(timeout) => TcpStream::connect_timeout(&socket_addr, timeout),
                None => TcpStream::connect(socket_addr),
            };
            match attempt {
                Ok(stream) => {
                    stream
                        .set_read_timeout(timeout)
                        .and_then(|()| stream.set_write_timeout(timeout))
                        .and_then(|()| stream.set_nodelay(true))
                        .map_err(connect_error)?;
                    return Ok(stream);
                }
                Err(error) => last_error = error,
            }
        }
        Err(connect_error(last_error))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Address {
    fn from(text: &str) -> Address {
        Address(text.to_owned())
    }
}

impl From<String> for Address {
    fn from(text: String) -> Address {
        Address(text)
    }
}

impl From<&String> for Address {
    fn from(text: &String) -> Address {
        Address(text.clone())
    }
}

impl From<SocketAddr> for Address {
    fn from(addr: SocketAddr) -> Address {
        Address(addr.to_string())
    }
}

impl From<(IpAddr, u16)> for Address {
    fn from((ip, port): (IpAddr, u16)) -> Address {
        SocketAddr::new(ip, port).into()
    }
}

impl From<(&str, u16)> for Address {
    /// An IPv6 address as host gets the brackets that `host:port` needs.
    fn from((host, port): (&str, u16)) -> Address {
        match host.contains(':') && !host.starts_with('[') {
            true => Address(format!("[{host}]:{port}")),
            false => Address(format!("{host}:{port}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_the_address_without_its_port() {
        assert_eq!(Address::from("metrics.example.com:8888").host(), "metrics.example.com");
        assert_eq!(Address::from("127.0.0.1:8888").host(), "127.0.0.1");
        assert_eq!(Address::from("[::1]:8888").host(), "::1");
        assert_eq!(Address::from("::1").host(), "::1");
        assert_eq!(Address::from("localhost").host(), "localhost");
    }

    #[test]
    fn every_form_gives_host_and_port() {
        assert_eq!(Address::from(("::1", 8888)).to_string(), "[::1]:8888");
        assert_eq!(Address::from(("localhost", 8888)).to_string(), "localhost:8888");
        let socket: SocketAddr = "[::1]:8888".parse().unwrap();
        assert_eq!(Address::from(socket), Address::from(("::1", 8888)));
        assert_eq!(Address::from((socket.ip(), 8888)).host(), "::1");
    }

    #[test]
    fn an_unresolvable_address_is_a_connect_error_naming_it() {
        match Address::from("no port here").connect_tcp(None) {
            Err(Error::Connect { addr, .. }) => assert_eq!(addr, "no port here"),
            other => panic!("{other:?}"),
        }
    }
}
