//! The `eardrum` Python module: the course's client, `Client(host, port,
//! timeout=None)` with `put` and `get`, and `ClientError`, on top of
//! eardrum's Rust client. Code written for the course's client works
//! unchanged after `from eardrum import Client, ClientError`.
//!
//! The contract is ../shared/PROTOCOL.md's "The client": one connection
//! made at once and kept, the timeout on connecting and on each read and
//! write, `get` as a dict of lists of `(int, float)` tuples in the
//! server's order, and every failure a `ClientError`, including arguments
//! the server could never accept. Network waits release the GIL.

use eardrum_client::{ConnectOptions, Error as RustClientError};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

create_exception!(
    eardrum,
    ClientError,
    PyException,
    "Any failure of a Client: the server answered `error`, its reply was malformed, the \
     connection failed, closed or timed out, or an argument cannot be sent."
);

fn client_error(error: impl std::error::Error) -> PyErr {
    // The whole chain: the Rust error's sources say what failed beneath.
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    ClientError::new_err(message)
}

/// A connection to an eardrum server (or any server speaking its
/// protocol).
///
/// `Client(host, port, timeout=None)` connects at once and keeps the one
/// connection for every request. `timeout` (seconds) applies to
/// connecting and to each read and write; `None` waits forever. It can be
/// used as a context manager, which closes it.
#[pyclass(module = "eardrum")]
struct Client {
    /// `None` once closed.
    inner: Mutex<Option<eardrum_client::Client>>,
    address: String,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (host, port, timeout=None))]
    fn new(py: Python<'_>, host: &str, port: u16, timeout: Option<f64>) -> PyResult<Client> {
        let timeout = match timeout {
            None => None,
            Some(seconds) if seconds.is_finite() && seconds > 0.0 => Some(Duration::from_secs_f64(seconds)),
            Some(seconds) => {
                return Err(PyValueError::new_err(format!(
                    "timeout must be a positive number of seconds or None, not {seconds}"
                )))
            }
        };
        let client = py
            .detach(|| {
                eardrum_client::Client::connect_with(
                    (host, port),
                    &ConnectOptions { timeout, ..ConnectOptions::default() },
                )
            })
            .map_err(client_error)?;
        Ok(Client { inner: Mutex::new(Some(client)), address: format!("{host}:{port}") })
    }

    /// Stores one point: `put("palm.cpu", 23.7, 1150864247)`. Without a
    /// timestamp, the current Unix time in whole seconds, taken now.
    ///
    /// Raises ClientError unless the server answers `ok`.
    #[pyo3(signature = (key, value, timestamp=None))]
    fn put(
        &self,
        py: Python<'_>,
        key: &str,
        value: &Bound<'_, PyAny>,
        timestamp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let value: f64 = value.extract().map_err(|_| {
            ClientError::new_err(format!("the value must be a number, not {}", type_name(value)))
        })?;
        let timestamp = match timestamp {
            None => None,
            Some(timestamp) if timestamp.is_none() => None,
            Some(timestamp) => Some(timestamp.extract::<i64>().map_err(|_| {
                ClientError::new_err(format!(
                    "the timestamp must be an integer, not {}",
                    type_name(timestamp)
                ))
            })?),
        };
        self.with_client(py, |client| client.put(key, value, timestamp))
    }

    /// The points of `key`, or of every key with `"*"`: a dict from key to
    /// a list of `(timestamp, value)` tuples (int, float), each list in
    /// ascending timestamp order, keys in the order the server sent them.
    /// A key without points gives `{}`.
    ///
    /// Raises ClientError on an `error` reply, a malformed reply (and then
    /// returns nothing of it), or a failed connection.
    fn get<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyDict>> {
        // The course's `get("*")`: every key, which the Rust client asks
        // for by name.
        let metrics = match key {
            "*" => self.with_client(py, eardrum_client::Client::get_all)?,
            key => self.with_client(py, |client| client.get(key))?,
        };
        let dict = PyDict::new(py);
        for (key, points) in metrics {
            let points: Vec<(i64, f64)> = points.iter().map(|point| (point.timestamp, point.value)).collect();
            dict.set_item(key, points)?;
        }
        Ok(dict)
    }

    /// Closes the connection; later requests raise ClientError.
    fn close(&self) {
        *self.inner.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn __enter__(slf: Py<Client>) -> Py<Client> {
        slf
    }

    #[pyo3(signature = (*_exception))]
    fn __exit__(&self, _exception: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        let open = self.inner.lock().unwrap_or_else(PoisonError::into_inner).is_some();
        format!("<eardrum.Client {} {}>", self.address, if open { "open" } else { "closed" })
    }
}

impl Client {
    /// Runs `request` on the connection with the GIL released.
    fn with_client<T: Send>(
        &self,
        py: Python<'_>,
        request: impl FnOnce(&mut eardrum_client::Client) -> Result<T, RustClientError> + Send,
    ) -> PyResult<T> {
        py.detach(|| {
            let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let client = inner.as_mut().ok_or_else(|| ClientError::new_err("the client is closed"))?;
            request(client).map_err(client_error)
        })
    }
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map_or_else(|_| "that".to_owned(), |name| name.to_string())
}

/// The course's client for eardrum: `from eardrum import Client, ClientError`.
#[pymodule]
#[pyo3(name = "eardrum")]
fn eardrum_python(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Client>()?;
    module.add("ClientError", module.py().get_type::<ClientError>())?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
