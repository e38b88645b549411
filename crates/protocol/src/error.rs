//! The one error type of the protocol crate.

/// A `Result` whose error is the protocol's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why bytes could not be read as a request or a reply.
///
/// Every request variant is answered on the wire with the same
/// `error\nwrong command\n\n`; the variants exist so that logs, the shell and
/// tests can say *what* was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A line grew past the configured limit before its `\n` arrived.
    #[error("line is longer than {limit} bytes")]
    LineTooLong {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// The line is not valid UTF-8.
    #[error("request is not valid UTF-8")]
    InvalidUtf8,
    /// The first word is neither `put` nor `get`.
    #[error("unknown command {command:?}: expected `put` or `get`")]
    UnknownCommand {
        /// The word that was found instead.
        command: String,
    },
    /// A command got fewer or more words than it takes.
    #[error("`{command}` takes {expected} argument(s), got {actual}")]
    WrongArgumentCount {
        /// `put` or `get`.
        command: &'static str,
        /// How many words follow the command when it is well formed.
        expected: usize,
        /// How many words followed it.
        actual: usize,
    },
    /// The value of a `put` is not a number Python's `float()` accepts.
    #[error("invalid value {text:?}: expected a number such as 23.7, -1e5 or nan")]
    InvalidValue {
        /// The offending word.
        text: String,
    },
    /// The timestamp of a `put` is not an integer in the signed 64-bit range.
    #[error("invalid timestamp {text:?}: expected whole Unix seconds")]
    InvalidTimestamp {
        /// The offending word.
        text: String,
    },
    /// A put's key holds a character that Python's `str.split()` takes
    /// for whitespace (see [`check_key`](crate::check_key)).
    #[error("invalid key {key:?}: it holds a character that Python clients take for whitespace")]
    WhitespaceInKey {
        /// The offending key.
        key: String,
    },
    /// A reply did not follow the protocol's shape.
    #[error("malformed reply: {reason}")]
    MalformedReply {
        /// What was wrong with it.
        reason: String,
    },
}
