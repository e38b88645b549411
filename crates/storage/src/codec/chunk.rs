//! Chunks: the compressed, immutable unit of a series' points, and the head
//! that builds one point by point.
//!
//! ```text
//! chunk      = count:varint first_ts:zigzag-varint span:varint
//!              ts_len:varint ts_bits[ts_len] encoding:u8 values
//! ts_bits    = (count - 1) × bucketed delta-of-delta (the first delta counts
//!              from a delta of 0), zero-padded to a byte
//! values     = XOR:              Gorilla XOR stream
//!            | DECIMAL_BUCKETED: decimals:u8 first:zigzag-varint,
//!                                (count - 1) × bucketed difference
//!            | DECIMAL_PACKED:   decimals:u8 first:zigzag-varint
//!                                min_delta:zigzag-varint width:u8,
//!                                (count - 1) × width bits of (difference - min_delta)
//! ```
//!
//! `span` is `last_ts - first_ts`, so a reader can skip a chunk by its time
//! range without decoding it. Timestamps are strictly increasing inside a
//! chunk (the store sorts and deduplicates before encoding); arithmetic
//! wraps, so the whole `i64` range round-trips. Values with few decimals
//! take the smaller of the two decimal encodings (sizes computed, not
//! tried); all others take XOR.

use super::bits::{BitReader, BitWriter};
use super::ints::{bit_width, bucketed_bits, read_bucketed, unzigzag, write_bucketed, zigzag};
use super::values::{
    read_delta_bucketed, scale, to_scaled, write_deltas_bucketed, Packing, XorDecoder, XorEncoder,
    MAX_DECIMALS,
};
use crate::error::Corruption;
use crate::value::{Decimal, Value};
use crate::varint;

/// A head is sealed into a chunk once it holds this many points: about 20
/// minutes at a 10 s interval, long enough for the codecs to pay off.
pub(crate) const CHUNK_MAX_POINTS: usize = 120;
/// Chunks never claim more points than this; a larger count is damage.
const CHUNK_COUNT_LIMIT: u64 = 1 << 24;

const XOR: u8 = 0;
const DECIMAL_BUCKETED: u8 = 1;
const DECIMAL_PACKED: u8 = 2;

/// Encodes sorted points of any number as chunks of at most
/// [`CHUNK_MAX_POINTS`], handing each to `each` in time order.
pub(crate) fn encode_pieces(points: &[(i64, f64)], mut each: impl FnMut(&[u8])) {
    let mut encoded = Vec::new();
    for piece in points.chunks(CHUNK_MAX_POINTS) {
        encoded.clear();
        encode(piece, &mut encoded);
        each(&encoded);
    }
}

/// Encodes points (sorted, strictly increasing timestamps, at least one)
/// as one chunk appended to `out`.
pub(crate) fn encode(points: &[(i64, f64)], out: &mut Vec<u8>) {
    let Some(&(first_ts, _)) = points.first() else {
        return;
    };
    let last_ts = points.last().map_or(first_ts, |&(t, _)| t);
    let mut timestamps = BitWriter::default();
    let mut previous = (first_ts, 0i64);
    for &(timestamp, _) in &points[1..] {
        let delta = timestamp.wrapping_sub(previous.0);
        write_bucketed(&mut timestamps, delta.wrapping_sub(previous.1));
        previous = (timestamp, delta);
    }
    write_header(out, points.len(), first_ts, last_ts, &timestamps);

    let values: Vec<f64> = points.iter().map(|&(_, v)| v).collect();
    // Values with few decimals take one of the decimal encodings, whichever
    // is smaller (both sizes are known without encoding); XOR of such values
    // is always larger, as their mantissas share few bits. Other values take
    // XOR.
    let encoded = match scale(&values) {
        Some(scaled) => {
            let packing = Packing::for_integers(&scaled.integers);
            let bucketed_bits: u64 =
                scaled.integers.windows(2).map(|pair| bucketed_bits(pair[1].wrapping_sub(pair[0]))).sum();
            if prefer_bucketed(bucketed_bits, packing, scaled.integers.len()) {
                encode_decimal_bucketed(&scaled)
            } else {
                encode_decimal_packed(&scaled, packing)
            }
        }
        None => encode_xor(&values),
    };
    out.extend_from_slice(&encoded);
}

/// The chunk's fields before its values: count, time range, timestamps.
fn write_header(out: &mut Vec<u8>, count: usize, first_ts: i64, last_ts: i64, timestamps: &BitWriter) {
    varint::write_u64(out, count as u64);
    varint::write_u64(out, zigzag(first_ts));
    varint::write_u64(out, last_ts.wrapping_sub(first_ts) as u64);
    varint::write_u64(out, timestamps.byte_len() as u64);
    timestamps.write_to(out);
}

/// Whether `count` decimal values whose differences take `bucketed_bits`
/// in the bucketed code are smaller that way than packed.
fn prefer_bucketed(bucketed_bits: u64, packing: Packing, count: usize) -> bool {
    let packed_bits = u64::from(packing.width) * (count as u64).saturating_sub(1);
    // The packed header spends two more fields (about two bytes).
    bucketed_bits <= packed_bits + 16
}

fn encode_xor(values: &[f64]) -> Vec<u8> {
    let mut bits = BitWriter::default();
    let mut encoder = XorEncoder::default();
    values.iter().for_each(|&value| encoder.push(&mut bits, value));
    let mut out = vec![XOR];
    bits.write_to(&mut out);
    out
}

fn decimal_header(scaled: &super::values::Scaled, encoding: u8) -> Vec<u8> {
    let mut out = vec![encoding, scaled.decimals];
    varint::write_u64(&mut out, zigzag(scaled.integers[0]));
    out
}

fn encode_decimal_bucketed(scaled: &super::values::Scaled) -> Vec<u8> {
    let mut out = decimal_header(scaled, DECIMAL_BUCKETED);
    let mut bits = BitWriter::default();
    write_deltas_bucketed(&mut bits, &scaled.integers);
    bits.write_to(&mut out);
    out
}

fn encode_decimal_packed(scaled: &super::values::Scaled, packing: Packing) -> Vec<u8> {
    let mut out = decimal_header(scaled, DECIMAL_PACKED);
    varint::write_u64(&mut out, zigzag(packing.min_delta));
    out.push(packing.width as u8);
    let mut bits = BitWriter::default();
    packing.write(&mut bits, &scaled.integers);
    bits.write_to(&mut out);
    out
}

/// A chunk's header fields, read without decoding its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) count: u32,
    pub(crate) first_ts: i64,
    pub(crate) last_ts: i64,
}

/// Reads a chunk's header.
pub(crate) fn summary(chunk: &[u8]) -> Result<Summary, Corruption> {
    let mut input = chunk;
    read_summary(&mut input)
}

fn read_summary(input: &mut &[u8]) -> Result<Summary, Corruption> {
    let bad = |what| Corruption::BadChunk { what };
    let count = varint::read_u64(input).ok_or(bad("truncated count"))?;
    if count == 0 || count > CHUNK_COUNT_LIMIT {
        return Err(bad("impossible point count"));
    }
    let first_ts = unzigzag(varint::read_u64(input).ok_or(bad("truncated first timestamp"))?);
    let span = varint::read_u64(input).ok_or(bad("truncated span"))?;
    Ok(Summary { count: count as u32, first_ts, last_ts: first_ts.wrapping_add(span as i64) })
}

/// The points of a chunk or a head, decoded lazily, oldest first.
#[derive(Debug, Clone)]
pub(crate) struct Decoder<'a> {
    remaining: u32,
    started: bool,
    timestamp: i64,
    delta: i64,
    timestamps: BitReader<'a>,
    values: BitReader<'a>,
    value_state: ValueState,
}

#[derive(Debug, Clone)]
enum ValueState {
    Xor(XorDecoder),
    Bucketed { decimals: u8, previous: i64 },
    Packed { decimals: u8, previous: i64, packing: Packing },
}

impl<'a> Decoder<'a> {
    /// Starts decoding an encoded chunk.
    ///
    /// # Errors
    ///
    /// [`Corruption::BadChunk`] when the header cannot be read.
    pub(crate) fn new(chunk: &'a [u8]) -> Result<Decoder<'a>, Corruption> {
        let bad = |what| Corruption::BadChunk { what };
        let mut input = chunk;
        let summary = read_summary(&mut input)?;
        let ts_len = varint::read_u64(&mut input).ok_or(bad("truncated timestamp length"))?;
        let ts_len = usize::try_from(ts_len).map_err(|_| bad("timestamp length overflows"))?;
        let ts_bytes = input.get(..ts_len).ok_or(bad("timestamps run past the chunk"))?;
        input = &input[ts_len..];
        let (&encoding, mut rest) = input.split_first().ok_or(bad("missing value encoding"))?;
        let value_state = match encoding {
            XOR => ValueState::Xor(XorDecoder::default()),
            DECIMAL_BUCKETED | DECIMAL_PACKED => {
                let (&decimals, tail) = rest.split_first().ok_or(bad("missing decimals"))?;
                if decimals > MAX_DECIMALS {
                    return Err(bad("too many decimals"));
                }
                rest = tail;
                let first = unzigzag(varint::read_u64(&mut rest).ok_or(bad("truncated first value"))?);
                if encoding == DECIMAL_BUCKETED {
                    ValueState::Bucketed { decimals, previous: first }
                } else {
                    let min_delta = unzigzag(varint::read_u64(&mut rest).ok_or(bad("truncated min delta"))?);
                    let (&width, tail) = rest.split_first().ok_or(bad("missing width"))?;
                    if width > 64 {
                        return Err(bad("impossible width"));
                    }
                    rest = tail;
                    ValueState::Packed {
                        decimals,
                        previous: first,
                        packing: Packing { min_delta, width: width.into() },
                    }
                }
            }
            _ => return Err(bad("unknown value encoding")),
        };
        Ok(Decoder {
            remaining: summary.count,
            started: false,
            timestamp: summary.first_ts,
            delta: 0,
            timestamps: BitReader::new(ts_bytes),
            values: BitReader::new(rest),
            value_state,
        })
    }

    /// Whether the points hold `target`, for a decoder that has not begun:
    /// reads the timestamp stream alone, and only as far as `target`. This
    /// is what a put over existing points asks for each point (is it new?);
    /// decoding the values too made such puts several times slower than
    /// fresh ones. A run of zero bits is a run of points at the same
    /// interval, which is checked in one step: regular series are mostly
    /// such runs.
    pub(crate) fn holds_timestamp(mut self, target: i64) -> bool {
        debug_assert!(!self.started);
        let (mut timestamp, mut delta) = (self.timestamp, self.delta);
        if self.remaining == 0 || timestamp >= target {
            return self.remaining > 0 && timestamp == target;
        }
        // From here on, `timestamp < target`.
        let mut left = self.remaining - 1;
        while left > 0 {
            let run = self.timestamps.read_zeros(left.min(56));
            if run > 0 {
                left -= run;
                let end =
                    (delta > 0).then(|| delta.checked_mul(i64::from(run))?.checked_add(timestamp)).flatten();
                match end {
                    Some(end) if end >= target => {
                        return (i128::from(target) - i128::from(timestamp)) % i128::from(delta) == 0;
                    }
                    Some(end) => timestamp = end,
                    // Deltas that wrap around (only timestamps near both
                    // ends of the range have them): one point at a time.
                    None => {
                        for _ in 0..run {
                            timestamp = timestamp.wrapping_add(delta);
                            if timestamp >= target {
                                return timestamp == target;
                            }
                        }
                    }
                }
                continue;
            }
            let Some(dod) = read_bucketed(&mut self.timestamps) else { return false };
            left -= 1;
            delta = delta.wrapping_add(dod);
            timestamp = timestamp.wrapping_add(delta);
            if timestamp >= target {
                return timestamp == target;
            }
        }
        false
    }

    /// The next point, its value with the decimal it was stored as (see
    /// [`Value`]); `None` after the last. The [`Iterator`] gives the
    /// doubles alone.
    pub(crate) fn next_value(&mut self) -> Option<Result<(i64, Value), Corruption>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        match self.next_point() {
            Some(point) => Some(Ok(point)),
            None => {
                self.remaining = 0;
                Some(Err(Corruption::BadChunk { what: "points run past the chunk" }))
            }
        }
    }

    /// Calls `each` for the points from timestamp `from` on, at most
    /// `limit` of them, with their stored decimals, as
    /// [`Decoder::next_value`] would give them; returns how many it
    /// called it for. Faster than that one point at a time: one loop per
    /// value encoding, and each run of points at the same interval (zero
    /// bits, most of a regular series) read in one step.
    ///
    /// # Errors
    ///
    /// [`Corruption::BadChunk`] when the points run past the chunk; those
    /// before were visited.
    pub(crate) fn visit_values(
        mut self,
        from: i64,
        limit: usize,
        mut each: impl FnMut(i64, Value),
    ) -> Result<usize, Corruption> {
        match self.value_state.clone() {
            ValueState::Packed { decimals, previous, packing } if !self.started => {
                self.visit_decimals(from, limit, each, (decimals, previous), |values, previous| {
                    packing.read(values, previous)
                })
            }
            ValueState::Bucketed { decimals, previous } if !self.started => {
                self.visit_decimals(from, limit, each, (decimals, previous), read_delta_bucketed)
            }
            _ => {
                let mut visited = 0;
                while let Some(point) = self.next_value() {
                    if visited == limit {
                        break;
                    }
                    let (timestamp, value) = point?;
                    if timestamp >= from {
                        each(timestamp, value);
                        visited += 1;
                    }
                }
                Ok(visited)
            }
        }
    }

    /// [`Decoder::visit_values`] for a chunk of decimals, starting at
    /// `first` (`decimals` of them) and moved on by `read` from the value
    /// stream.
    fn visit_decimals(
        self,
        from: i64,
        limit: usize,
        each: impl FnMut(i64, Value),
        (decimals, first): (u8, i64),
        read: impl Fn(&mut BitReader<'_>, i64) -> Option<i64>,
    ) -> Result<usize, Corruption> {
        let (mut values, mut integer) = (self.values.clone(), first);
        self.visit_with(from, limit, each, |started| {
            if started {
                integer = read(&mut values, integer)?;
            }
            Value::with_decimal(Decimal { integer, decimals })
        })
    }

    /// The loop of [`Decoder::visit_values`] over the timestamps, each
    /// value from `next_value(started)`.
    fn visit_with(
        mut self,
        from: i64,
        limit: usize,
        mut each: impl FnMut(i64, Value),
        mut next_value: impl FnMut(bool) -> Option<Value>,
    ) -> Result<usize, Corruption> {
        let bad = || Corruption::BadChunk { what: "points run past the chunk" };
        let (mut timestamp, mut delta) = (self.timestamp, self.delta);
        // Points left in the run of zero delta-of-deltas being read.
        let mut regular = 0u32;
        let mut visited = 0;
        for index in 0..self.remaining {
            if index > 0 {
                if regular > 0 {
                    regular -= 1;
                } else {
                    // A zero bit is a point at the last interval: the run
                    // of them is counted at once (never past the points
                    // left, so not into the padding after the last).
                    regular = self.timestamps.read_zeros((self.remaining - index).min(56));
                    if regular > 0 {
                        regular -= 1;
                    } else {
                        delta = delta.wrapping_add(read_bucketed(&mut self.timestamps).ok_or_else(bad)?);
                    }
                }
                timestamp = timestamp.wrapping_add(delta);
            }
            let value = next_value(index > 0).ok_or_else(bad)?;
            if timestamp >= from {
                if visited == limit {
                    break;
                }
                each(timestamp, value);
                visited += 1;
            }
        }
        Ok(visited)
    }

    fn next_point(&mut self) -> Option<(i64, Value)> {
        if self.started {
            let dod = read_bucketed(&mut self.timestamps)?;
            self.delta = self.delta.wrapping_add(dod);
            self.timestamp = self.timestamp.wrapping_add(self.delta);
        }
        let decimal = |integer: i64, decimals: u8| Value::with_decimal(Decimal { integer, decimals });
        let value = match &mut self.value_state {
            ValueState::Xor(decoder) => Value::new(decoder.next(&mut self.values)?),
            ValueState::Bucketed { decimals, previous } => {
                if self.started {
                    *previous = read_delta_bucketed(&mut self.values, *previous)?;
                }
                decimal(*previous, *decimals)?
            }
            ValueState::Packed { decimals, previous, packing } => {
                if self.started {
                    *previous = packing.read(&mut self.values, *previous)?;
                }
                decimal(*previous, *decimals)?
            }
        };
        self.started = true;
        Some((self.timestamp, value))
    }
}

impl Iterator for Decoder<'_> {
    type Item = Result<(i64, f64), Corruption>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_value().map(|point| point.map(|(timestamp, value)| (timestamp, value.as_f64())))
    }
}

/// The open end of a series: points appended in time order, compressed as
/// they arrive, so an open series costs a few bits a point rather than
/// sixteen bytes. Timestamps are delta-of-delta coded; values are bucketed
/// differences of scaled integers while every value has few decimals (the
/// common case), and Gorilla XOR otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    count: u32,
    first_ts: i64,
    last_ts: i64,
    last_delta: i64,
    timestamps: BitWriter,
    values: BitWriter,
    encoding: HeadEncoding,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HeadEncoding {
    /// Values are `integer / 10^decimals`; the stream holds the differences
    /// after `first`, the smallest and largest of which are kept so that
    /// sealing knows the packed size without reading them.
    Decimal { decimals: u8, first: i64, last: i64, min_delta: i64, max_delta: i64 },
    /// Values are an XOR stream.
    Xor(XorEncoder),
}

impl Head {
    /// A head holding one point.
    pub(crate) fn new(timestamp: i64, value: f64) -> Head {
        // The fewest decimals that fit the one value, found without the
        // allocations of `scale`: a head starts with every sealed chunk.
        let decimals = (0..=MAX_DECIMALS).find_map(|decimals| Some((decimals, to_scaled(value, decimals)?)));
        Head::starting_with(timestamp, value, decimals)
    }

    /// A head holding `points` (sorted, unique timestamps, at least one),
    /// with the value encoding that fits all of them.
    fn from_points(points: &[(i64, f64)]) -> Head {
        let (first_ts, first_value) = points.first().copied().unwrap_or((0, 0.0));
        let values: Vec<f64> = points.iter().map(|&(_, v)| v).collect();
        let decimals = scale(&values).map(|scaled| (scaled.decimals, scaled.integers[0]));
        let mut head = Head::starting_with(first_ts, first_value, decimals);
        for &(timestamp, value) in &points[1..] {
            head.push(timestamp, value);
        }
        head
    }

    /// A head of one point, whose value is `first` over `10^decimals` if
    /// `decimal` is given, else XOR-encoded.
    fn starting_with(timestamp: i64, value: f64, decimal: Option<(u8, i64)>) -> Head {
        let encoding = match decimal {
            Some((decimals, first)) => HeadEncoding::Decimal {
                decimals,
                first,
                last: first,
                min_delta: i64::MAX,
                max_delta: i64::MIN,
            },
            None => HeadEncoding::Xor(XorEncoder::default()),
        };
        let mut head = Head {
            count: 1,
            first_ts: timestamp,
            last_ts: timestamp,
            last_delta: 0,
            timestamps: BitWriter::default(),
            values: BitWriter::default(),
            encoding,
        };
        if let HeadEncoding::Xor(xor) = &mut head.encoding {
            xor.push(&mut head.values, value);
        }
        head
    }

    /// Appends a point newer than every point held.
    pub(crate) fn push(&mut self, timestamp: i64, value: f64) {
        debug_assert!(timestamp > self.last_ts);
        match &mut self.encoding {
            HeadEncoding::Decimal { decimals, last, min_delta, max_delta, .. } => {
                match to_scaled(value, *decimals) {
                    Some(integer) => {
                        let delta = integer.wrapping_sub(*last);
                        write_bucketed(&mut self.values, delta);
                        (*min_delta, *max_delta) = ((*min_delta).min(delta), (*max_delta).max(delta));
                        *last = integer;
                    }
                    None => {
                        // More decimals than so far, or not decimal at all:
                        // re-encode everything with an encoding that fits. This
                        // happens a few times per head at most, as decimals only
                        // grow and XOR is final.
                        let mut points = self.points();
                        points.push((timestamp, value));
                        *self = Head::from_points(&points);
                        return;
                    }
                }
            }
            HeadEncoding::Xor(xor) => xor.push(&mut self.values, value),
        }
        let delta = timestamp.wrapping_sub(self.last_ts);
        write_bucketed(&mut self.timestamps, delta.wrapping_sub(self.last_delta));
        self.last_delta = delta;
        self.last_ts = timestamp;
        self.count += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.count as usize
    }

    pub(crate) fn first_ts(&self) -> i64 {
        self.first_ts
    }

    pub(crate) fn last_ts(&self) -> i64 {
        self.last_ts
    }

    /// The points held, oldest first.
    pub(crate) fn decoder(&self) -> Decoder<'_> {
        let value_state = match &self.encoding {
            HeadEncoding::Decimal { decimals, first, .. } => {
                ValueState::Bucketed { decimals: *decimals, previous: *first }
            }
            HeadEncoding::Xor(_) => ValueState::Xor(XorDecoder::default()),
        };
        Decoder {
            remaining: self.count,
            started: false,
            timestamp: self.first_ts,
            delta: 0,
            timestamps: self.timestamps.reader(),
            values: self.values.reader(),
            value_state,
        }
    }

    /// Appends the chunk of the points held to `out`: the bytes
    /// [`encode`] would write for [`Head::points`], mostly copied from the
    /// head's streams, which already are the chunk's. Only values better
    /// packed than bucketed are read back, and no timestamp is.
    pub(crate) fn seal(&self, out: &mut Vec<u8>) {
        write_header(out, self.len(), self.first_ts, self.last_ts, &self.timestamps);
        match &self.encoding {
            HeadEncoding::Xor(_) => {
                out.push(XOR);
                self.values.write_to(out);
            }
            &HeadEncoding::Decimal { decimals, first, min_delta, max_delta, .. } => {
                let packing = match self.count {
                    0 | 1 => Packing { min_delta: 0, width: 0 },
                    _ => Packing { min_delta, width: bit_width(max_delta.wrapping_sub(min_delta) as u64) },
                };
                let bucketed = prefer_bucketed(self.values.bit_len(), packing, self.len());
                out.extend_from_slice(&[if bucketed { DECIMAL_BUCKETED } else { DECIMAL_PACKED }, decimals]);
                varint::write_u64(out, zigzag(first));
                if bucketed {
                    self.values.write_to(out);
                    return;
                }
                varint::write_u64(out, zigzag(packing.min_delta));
                out.push(packing.width as u8);
                let mut differences = self.values.reader();
                let mut packed = BitWriter::default();
                for _ in 1..self.count {
                    // A head is written by this process only, so its stream reads.
                    let delta = read_bucketed(&mut differences).unwrap_or(0);
                    packed.write_bits(delta.wrapping_sub(packing.min_delta) as u64, packing.width);
                }
                packed.write_to(out);
            }
        }
    }

    /// The points held, decoded.
    pub(crate) fn points(&self) -> Vec<(i64, f64)> {
        // A head is written by this process only, so its streams decode.
        self.decoder().filter_map(Result::ok).collect()
    }

    /// Memory held by the head's streams.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.timestamps.heap_bytes() + self.values.heap_bytes()
    }
}

#[cfg(test)]
mod tests;
