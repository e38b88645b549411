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
