//! The opt-in first line of a connection when the server has a shared
//! token: `auth <token>`, answered with the empty `ok` reply, or with the
//! error reply after which the server closes the connection.
//!
//! Without a token configured this line is not part of the protocol (it
//! gets the error reply like any unknown command), so nothing changes for
//! existing clients.

use crate::request::Words;

/// The token of an `auth <token>` line (words split as in every request),
/// or `None` when the line is anything else.
pub fn parse_auth_line(line: &[u8]) -> Option<&[u8]> {
    let mut words = Words::new(line);
    match (words.next(), words.next(), words.next()) {
        (Some(b"auth"), Some(token), None) => Some(token),
        _ => None,
    }
}

/// Whether `token` can travel in an `auth` line: not empty, and no
/// whitespace or control bytes, which would split or end the line.
pub fn is_valid_token(token: &[u8]) -> bool {
    !token.is_empty() && token.iter().all(|&b| b.is_ascii_graphic() || b >= 0x80)
}

/// Appends the `auth` line for `token`, newline included.
pub fn write_auth_line(out: &mut Vec<u8>, token: &str) {
    out.extend_from_slice(b"auth ");
    out.extend_from_slice(token.as_bytes());
    out.push(b'\n');
}

/// Compares a presented token with the expected one in time that depends
/// only on their lengths, so that timing reveals nothing of the expected
/// token's bytes.
pub fn tokens_match(presented: &[u8], expected: &[u8]) -> bool {
    presented.len() == expected.len()
        && presented.iter().zip(expected).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_auth_line_yields_its_token_and_anything_else_nothing() {
        assert_eq!(parse_auth_line(b"auth s3cret"), Some(&b"s3cret"[..]));
        assert_eq!(parse_auth_line(b"  auth\ts3cret \r"), Some(&b"s3cret"[..]));
        for line in [&b"auth"[..], b"auth a b", b"AUTH s3cret", b"put a 1 1", b"", b"authx y"] {
            assert_eq!(parse_auth_line(line), None, "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn a_written_auth_line_parses_back() {
        let mut line = Vec::new();
        write_auth_line(&mut line, "tøken-1");
        assert_eq!(line, "auth tøken-1\n".as_bytes());
        assert_eq!(parse_auth_line(&line[..line.len() - 1]), Some("tøken-1".as_bytes()));
    }

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(tokens_match(b"abc", b"abc"));
        assert!(!tokens_match(b"abd", b"abc"));
        assert!(!tokens_match(b"ab", b"abc"));
        assert!(!tokens_match(b"", b"abc"));
    }

    #[test]
    fn tokens_with_whitespace_or_control_bytes_are_invalid() {
        assert!(is_valid_token("a-Z_0.9~ключ".as_bytes()));
        for token in [&b""[..], b"a b", b"a\tb", b"a\nb", b"a\x00b", b"a\x7fb"] {
            assert!(!is_valid_token(token), "{token:?}");
        }
    }
}
