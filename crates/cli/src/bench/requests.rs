//! The requests a benchmark connection sends: the fleet's points for its
//! share of the series, step by step, encoded ahead of time.

use eardrum_protocol::format_value;
use eardrum_workload::Fleet;

/// Encoded `put` lines and where each ends.
#[derive(Debug, Default)]
pub(super) struct Requests {
    pub bytes: Vec<u8>,
    /// `ends[i]` is the offset just past line `i`.
    pub ends: Vec<usize>,
}

impl Requests {
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of lines `from..to`.
    pub(super) fn lines(&self, from: usize, to: usize) -> &[u8] {
        let start = if from == 0 { 0 } else { self.ends[from - 1] };
        &self.bytes[start..self.ends[to - 1]]
    }
}

/// The wire format of the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// `put <key> <value> <timestamp>`, answered `ok`.
    Put,
    /// Graphite plaintext, `<key> <value> <timestamp>`, never answered.
    Graphite,
}

/// Encodes, for the series `connection, connection + connections, …`, the
/// points of steps `steps`, step by step (so each series' timestamps
/// ascend).
pub(super) fn encode(
    fleet: &mut Fleet,
    connection: usize,
    connections: usize,
    steps: std::ops::Range<u64>,
    format: Format,
) -> Requests {
    let mut requests = Requests::default();
    let mut timestamp_text = itoa::Buffer::new();
    for step in steps {
        for series in (connection..fleet.len()).step_by(connections) {
            let (timestamp, value) = fleet.next_point(series, step);
            if format == Format::Put {
                requests.bytes.extend_from_slice(b"put ");
            }
            requests.bytes.extend_from_slice(fleet.key(series).as_bytes());
            requests.bytes.push(b' ');
            format_value(value, &mut requests.bytes);
            requests.bytes.push(b' ');
            requests.bytes.extend_from_slice(timestamp_text.format(timestamp).as_bytes());
            requests.bytes.push(b'\n');
            requests.ends.push(requests.bytes.len());
        }
    }
    requests
}
