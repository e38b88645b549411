//! The one error type of the storage crate.

use std::io;
use std::path::PathBuf;

/// A `Result` whose error is the storage crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong opening, writing or closing a [`Store`](crate::Store).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call on a file or folder of the store failed.
    #[error("{action} {}", path.display())]
    Io {
        /// What was being done, e.g. `"writing log segment"`.
        action: &'static str,
        /// The file or folder it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Another process holds the data folder's lock file.
    #[error("data folder {} is in use by another process (lock file {})", dir.display(), lock.display())]
    Locked {
        /// The data folder.
        dir: PathBuf,
        /// The lock file that could not be taken.
        lock: PathBuf,
    },
    /// The log holds damage that is not a torn last write: refusing to start
    /// protects what the damaged part may still hold.
    #[error("log segment {} is corrupt at byte offset {offset}: {reason}", path.display())]
    CorruptLog {
        /// The damaged segment file.
        path: PathBuf,
        /// Where the first bad record starts.
        offset: u64,
        /// What is wrong there.
        reason: Corruption,
    },
    /// A block or checkpoint file is damaged. These files are written under
    /// a temporary name and renamed only once synced, so this is damage on
    /// the disk, not an interrupted write.
    #[error("{} is corrupt at byte offset {offset}: {reason}", path.display())]
    CorruptFile {
        /// The damaged file.
        path: PathBuf,
        /// Where the damage starts.
        offset: u64,
        /// What is wrong there.
        reason: Corruption,
    },
    /// Block files or covered log segments exist that only a checkpoint
    /// manifest could explain, and there is none: starting would lose
    /// every point they hold.
    #[error("no checkpoint manifest (checkpoint-*) in {}, yet {found} exist", dir.display())]
    MissingManifest {
        /// The data folder.
        dir: PathBuf,
        /// What was found.
        found: String,
    },
    /// A segment file was written by an incompatible format version.
    #[error("log segment {} has format version {found}, this build reads version {supported}", path.display())]
    UnsupportedVersion {
        /// The segment file.
        path: PathBuf,
        /// The version found in its header.
        found: u8,
        /// The version this build reads and writes.
        supported: u8,
    },
    /// A sync of the log failed earlier, so what reached the disk is unknown;
    /// writes are refused until the store is reopened and recovers from the
    /// file itself (fsync errors cannot be retried safely on Linux).
    #[error("the log is poisoned by an earlier failed sync; restart to recover")]
    Poisoned,
    /// The batch was taken by another caller's commit, which failed; that
    /// caller got (and logged) the reason.
    #[error("not stored: the log write that held this batch failed")]
    NotStored,
    /// A backend over a network could not answer (ClickHouse is down or
    /// refused a query).
    #[error("the remote store could not answer: {message}")]
    Remote {
        /// What failed, as the backend explains it.
        message: String,
        /// The backend's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The options a store was opened with break a rule, or a read asked
    /// for something they do not provide.
    #[error("invalid options: {reason}")]
    InvalidOptions {
        /// Which option, and why.
        reason: String,
    },
    /// Some samples had new keys and the store already holds
    /// [`Options::max_series`](crate::Options::max_series) series; the
    /// batch's other samples were stored.
    #[error("{refused} point(s) refused: their keys would create series beyond the limit of {limit}")]
    SeriesLimit {
        /// How many samples of the batch were refused.
        refused: usize,
        /// The limit.
        limit: usize,
    },
}

/// Why a log record was judged corrupt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// The file does not start with the magic bytes of its kind (log
    /// segment, block file, manifest, synced mark).
    #[error("bad magic bytes: not an eardrum file of this kind")]
    BadMagic,
    /// The record's checksum does not match its payload.
    #[error("checksum mismatch")]
    ChecksumMismatch,
    /// The record's length field points past the end of the file or is zero.
    #[error("record length {length} does not fit the file")]
    BadLength {
        /// The length field's value.
        length: u32,
    },
    /// A record with a valid checksum holds an entry that cannot be decoded.
    #[error("undecodable entry: {what}")]
    BadEntry {
        /// What was wrong with the entry.
        what: &'static str,
    },
    /// A compressed chunk cannot be decoded.
    #[error("undecodable chunk: {what}")]
    BadChunk {
        /// What was wrong with it.
        what: &'static str,
    },
    /// A record names a series the log never defined, or defines one out of
    /// order.
    #[error("series id {id} is not defined in order")]
    UnknownSeries {
        /// The offending id.
        id: u64,
    },
    /// A segment other than the newest ends in an incomplete record; those
    /// are synced before the next segment starts, so this is damage.
    #[error("incomplete record in a segment that is not the newest")]
    TornMiddleSegment,
    /// A log segment is missing from the sequence (deleted).
    #[error("log segment {sequence} is missing")]
    MissingSegment {
        /// The missing segment's number.
        sequence: u64,
    },
    /// The segment ends before the position it was known to be synced to
    /// (truncated or zeroed after the fact: a crash cannot lose synced
    /// bytes).
    #[error("the segment ends before byte {synced}, which was synced to disk")]
    EndsBeforeSynced {
        /// How far it had been synced.
        synced: u64,
    },
    /// A block file the manifest names is missing or has another length
    /// than the manifest recorded.
    #[error("the block file is {found} bytes long, the manifest recorded {expected}")]
    BlockLength {
        /// The length the manifest recorded.
        expected: u64,
        /// The length on disk.
        found: u64,
    },
}

impl Error {
    /// For `map_err`: an [`Error::Io`] doing `action` to `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { action, path, source }
    }
}
