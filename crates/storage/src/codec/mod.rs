//! Compression of series points: Gorilla's delta-of-delta timestamps and
//! XOR values (Pelkonen et al., VLDB 2015), plus decimal-aware value
//! encodings for metrics that carry a few decimals.
//!
//! `bits` holds the bit writer and reader, `ints` the integer codes,
//! `values` the value streams, and `chunk` the chunk format and the
//! appendable head built from them.

pub(crate) mod bits;
pub(crate) mod chunk;
pub(crate) mod ints;
pub(crate) mod values;

use crate::error::Corruption;

/// Encodes points as one chunk appended to `out`: the store's own format,
/// public for benchmarks and fuzzing. Timestamps must be strictly
/// increasing.
///
/// ```
/// let points = [(10, 23.7), (20, 23.8), (30, 23.8)];
/// let mut chunk = Vec::new();
/// eardrum_storage::codec::encode_chunk(&points, &mut chunk);
/// let decoded: Vec<(i64, f64)> =
///     eardrum_storage::codec::decode_chunk(&chunk)?.collect::<Result<_, _>>()?;
/// assert_eq!(decoded, points);
/// # Ok::<(), eardrum_storage::Corruption>(())
/// ```
pub fn encode_chunk(points: &[(i64, f64)], out: &mut Vec<u8>) {
    chunk::encode(points, out);
}

/// Decodes a chunk lazily, oldest point first.
///
/// # Errors
///
/// [`Corruption::BadChunk`] when the header is damaged; damage further on
/// comes out of the iterator as an error. Never panics.
pub fn decode_chunk(
    chunk: &[u8],
) -> Result<impl Iterator<Item = Result<(i64, f64), Corruption>> + '_, Corruption> {
    chunk::Decoder::new(chunk)
}
