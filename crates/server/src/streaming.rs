//! The rest of a long `get` reply, made on two blocking threads while the
//! connection writes what is made.
//!
//! Reading points out of the store (decoding chunks) and printing them as
//! rows each take longer than writing the rows to the socket, and on one
//! thread the three ran one after the other. Here one thread reads batches
//! of points, a second prints them into pieces of the reply, and the
//! connection writes the pieces: each stage works while the next does,
//! with a few batches and pieces in flight at most, so memory stays
//! bounded however long the reply.

use crate::handler::{read_rows, write_rows, Query, ReadRows};
use eardrum_storage::{Backend, ScanCursor};
use std::sync::mpsc;
use std::sync::Arc;
use tokio::sync::mpsc as async_mpsc;

/// Batches of points read ahead of the printing, and pieces printed ahead
/// of the writing: enough that no stage waits on the next for long.
const AHEAD: usize = 3;

/// Points read per batch (200 KB of them). Handing over 2,048 at a time,
/// the threads spent enough on waking each other that the pipeline was
/// slower than one thread (13.5 against 16.5 M points/s).
const BATCH_POINTS: usize = 8192;

/// A piece of the reply, and whether the reply is complete with it (or
/// why it cannot be: the store failed).
pub(crate) type Piece = (Vec<u8>, eardrum_storage::Result<bool>);

/// The pieces of the rest of a reply, in order, and where written pieces
/// go back to be filled again.
pub(crate) struct Pieces {
    /// The pieces as they are made; closed after the last.
    pub(crate) made: async_mpsc::Receiver<Piece>,
    /// Written pieces, to be reused (a send fails only once the threads
    /// have ended, and the piece is then dropped).
    pub(crate) written: mpsc::Sender<Vec<u8>>,
}

/// Starts making the rest of `query`'s reply from `cursor`, in pieces of
/// about `piece_bytes`; the threads end with the reply, or as soon as the
/// pieces are no longer taken.
pub(crate) fn make_pieces(
    store: Arc<dyn Backend>,
    query: Query,
    cursor: ScanCursor,
    piece_bytes: usize,
) -> Pieces {
    let (batches, read) = mpsc::sync_channel::<(ReadRows, eardrum_storage::Result<bool>)>(AHEAD);
    let (batches_printed, printed_batches) = mpsc::channel::<ReadRows>();
    let (pieces, made) = async_mpsc::channel(AHEAD);
    let (written, spare_pieces) = mpsc::channel::<Vec<u8>>();
    tokio::task::spawn_blocking(move || {
        let mut cursor = cursor;
        loop {
            let mut rows = printed_batches.try_recv().unwrap_or_default();
            let done = read_rows(&*store, &query, &mut cursor, &mut rows, BATCH_POINTS);
            let last = !matches!(done, Ok(false));
            if batches.send((rows, done)).is_err() || last {
                return;
            }
        }
    });
    tokio::task::spawn_blocking(move || loop {
        let mut piece = spare_pieces.try_recv().unwrap_or_else(|_| Vec::with_capacity(2 * piece_bytes));
        let done = loop {
            let Ok((rows, done)) = read.recv() else { return };
            if let Ok(last) = done {
                write_rows(&rows, last, &mut piece);
            }
            // Only the reader's end makes this fail; the batch is dropped.
            let _ = batches_printed.send(rows);
            if !matches!(done, Ok(false)) || piece.len() >= piece_bytes {
                break done;
            }
        };
        let last = !matches!(done, Ok(false));
        if pieces.blocking_send((piece, done)).is_err() || last {
            return;
        }
    });
    Pieces { made, written }
}
