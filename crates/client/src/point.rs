//! What the client puts and gets: points, and metrics as the course's
//! client returns them.

use indexmap::IndexMap;

/// One point of a metric: when, in Unix seconds, and its value then. The
/// client's one shape of a point: [`Client::put_many`](crate::Client::put_many)
/// takes each beside its key, [`Client::get_each`](crate::Client::get_each)
/// visits them so, and [`Metrics`] lists them per key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Unix seconds.
    pub timestamp: i64,
    /// Any double, NaN and infinities included.
    pub value: f64,
}

impl Point {
    /// The point of `value` at `timestamp`.
    pub fn new(timestamp: i64, value: f64) -> Point {
        Point { timestamp, value }
    }
}

/// What [`Client::get`](crate::Client::get) and
/// [`Client::get_all`](crate::Client::get_all) return, as the course's client
/// does: keys in the order the server sent them, each with its points in
/// ascending timestamp order.
///
/// ```no_run
/// let mut client = eardrum_client::Client::connect("127.0.0.1:8888")?;
/// let metrics: eardrum_client::Metrics = client.get_all()?;
/// if let Some(points) = metrics.get("palm.cpu") {
///     let latest = points.last().map(|point| point.value);
///     println!("palm.cpu is now {latest:?}");
/// }
/// # Ok::<(), eardrum_client::Error>(())
/// ```
pub type Metrics = IndexMap<String, Vec<Point>>;

/// Groups `get` rows by key, in the server's order, each key's points
/// sorted by timestamp.
pub(crate) fn group(rows: Vec<eardrum_protocol::Row>) -> Metrics {
    let mut metrics = Metrics::new();
    for row in rows {
        metrics.entry(row.key).or_default().push(Point::new(row.timestamp, row.value));
    }
    for points in metrics.values_mut() {
        points.sort_by_key(|point| point.timestamp);
    }
    metrics
}
