//! The optional shared token: on the protocol port, the first line of a
//! connection must be `auth <token>`; on the HTTP port, every request must
//! carry `Authorization: Bearer <token>`.

use crate::error::{Error, Result};
use eardrum_protocol::auth::{is_valid_token, tokens_match};
use std::path::Path;
use std::sync::Arc;

/// A shared secret that clients must present. Its `Debug` output never
/// shows it, so configurations can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(Arc<str>);

impl AuthToken {
    /// A token from its text.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidToken`] when it is empty or holds whitespace or
    /// control characters, which cannot travel in an `auth` line.
    pub fn new(token: &str) -> Result<AuthToken> {
        if !is_valid_token(token.as_bytes()) {
            return Err(Error::InvalidToken {
                reason: "it must be non-empty, with no whitespace or control characters".to_owned(),
            });
        }
        Ok(AuthToken(token.into()))
    }

    /// Reads a token from a file: its whole content, without the line end
    /// an editor adds.
    ///
    /// # Errors
    ///
    /// [`Error::TokenFile`] when the file cannot be read,
    /// [`Error::InvalidToken`] when its content is not a valid token.
    pub fn read_file(path: &Path) -> Result<AuthToken> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| Error::TokenFile { path: path.to_owned(), source })?;
        AuthToken::new(text.trim_end_matches(['\n', '\r'])).map_err(|error| match error {
            Error::InvalidToken { reason } => {
                Error::InvalidToken { reason: format!("{}: {reason}", path.display()) }
            }
            other => other,
        })
    }

    /// The token's text, for a client that presents it (`eardrum`'s client
    /// commands read their `--auth-token-file` here, as the server does).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this token, compared in constant time.
    pub(crate) fn matches(&self, presented: &[u8]) -> bool {
        tokens_match(presented, self.0.as_bytes())
    }
}

impl std::fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthToken(<redacted>)")
    }
}

/// The bearer token of an HTTP `Authorization` header value.
pub(crate) fn bearer_token(header: &[u8]) -> Option<&[u8]> {
    let scheme_end = header.iter().position(|&b| b == b' ')?;
    let (scheme, rest) = header.split_at(scheme_end);
    scheme.eq_ignore_ascii_case(b"bearer").then(|| rest.trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_loses_its_line_end_and_bad_tokens_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        let token = AuthToken::read_file(&path).unwrap();
        assert!(token.matches(b"s3cret"));
        assert!(!token.matches(b"s3cret\n"));
        assert_eq!(format!("{token:?}"), "AuthToken(<redacted>)");
        for bad in ["", "\n", "two words\n", "tab\there"] {
            std::fs::write(&path, bad).unwrap();
            assert!(matches!(AuthToken::read_file(&path), Err(Error::InvalidToken { .. })), "{bad:?}");
        }
        let missing = AuthToken::read_file(&dir.path().join("missing"));
        assert!(matches!(missing, Err(Error::TokenFile { .. })));
    }

    #[test]
    fn bearer_tokens_are_taken_from_the_authorization_header() {
        assert_eq!(bearer_token(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"bearer  abc "), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bearer"), None);
    }
}
