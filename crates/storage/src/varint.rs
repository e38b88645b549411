//! LEB128 variable-length integers, used by the log's entries: small ids and
//! nearby timestamps take one to five bytes instead of eight.

/// The most bytes a value takes.
pub(crate) const MAX_BYTES: usize = 10;

/// Appends `value` as unsigned LEB128: seven bits a byte, low bits first, the
/// high bit set on every byte but the last.
pub(crate) fn write_u64(out: &mut Vec<u8>, value: u64) {
    let mut bytes = [0u8; MAX_BYTES];
    let len = encode_u64(&mut bytes, value);
    out.extend_from_slice(&bytes[..len]);
}

/// Writes `value` as [`write_u64`] does at the front of `out` (which has
/// room for [`MAX_BYTES`]); returns the bytes written.
pub(crate) fn encode_u64(out: &mut [u8], mut value: u64) -> usize {
    let mut len = 0;
    while value >= 0x80 {
        out[len] = (value as u8) | 0x80;
        value >>= 7;
        len += 1;
    }
    out[len] = value as u8;
    len + 1
}

/// Maps signed to unsigned so that small negatives stay small.
pub(crate) fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Reads an unsigned LEB128 value from the front of `input`, advancing it.
/// Returns `None` on truncation or on more than 64 bits.
pub(crate) fn read_u64(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (index, &byte) in input.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        if index == 9 && bits > 1 {
            return None;
        }
        value |= bits << (7 * index);
        if byte & 0x80 == 0 {
            *input = &input[index + 1..];
            return Some(value);
        }
    }
    None
}

/// Reads a zigzag-encoded signed value, advancing `input`.
pub(crate) fn read_i64(input: &mut &[u8]) -> Option<i64> {
    let raw = read_u64(input)?;
    Some(((raw >> 1) as i64) ^ -((raw & 1) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn unsigned_round_trip(value: u64) {
            let mut out = Vec::new();
            write_u64(&mut out, value);
            let mut input = &out[..];
            prop_assert_eq!(read_u64(&mut input), Some(value));
            prop_assert!(input.is_empty());
        }

        #[test]
        fn signed_round_trip(value: i64) {
            let mut out = Vec::new();
            write_u64(&mut out, zigzag(value));
            let mut input = &out[..];
            prop_assert_eq!(read_i64(&mut input), Some(value));
        }

        #[test]
        fn never_panics_on_garbage(bytes: Vec<u8>) {
            let mut input = &bytes[..];
            let _ = read_u64(&mut input);
        }
    }

    #[test]
    fn rejects_truncated_and_overlong() {
        assert_eq!(read_u64(&mut &[0x80u8][..]), None);
        assert_eq!(read_u64(&mut &[0xff; 10][..]), None);
        assert_eq!(read_u64(&mut &[0x7fu8][..]), Some(127));
    }
}
