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
//!
//! A client that stops reading leaves both threads waiting until it goes:
//! only [`PIPELINED_REPLIES`] replies are made so at once, the others on
//! their connection's task as before, so that such clients cannot take the
//! blocking threads that HTTP reads and synced commits run on.

use crate::handler::{read_rows, write_rows, Query, ReadRows};
use eardrum_storage::{Backend, ScanCursor};
use std::sync::mpsc;
use std::sync::Arc;
use tokio::sync::mpsc as async_mpsc;
use tokio::sync::OwnedSemaphorePermit;

/// Replies made on threads at once, across every connection: the work of
/// two cores.
pub(crate) const PIPELINED_REPLIES: usize = 2;

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
/// pieces are no longer taken, and `permit` (one of
/// [`PIPELINED_REPLIES`]) is given back once both have.
pub(crate) fn make_pieces(
    store: Arc<dyn Backend>,
    query: Query,
    cursor: ScanCursor,
    piece_bytes: usize,
    permit: OwnedSemaphorePermit,
) -> Pieces {
    let (batches, read) = mpsc::sync_channel::<Batch>(AHEAD);
    let (printed, printed_batches) = mpsc::channel::<ReadRows>();
    let (pieces, made) = async_mpsc::channel(AHEAD);
    let (written, spare_pieces) = mpsc::channel::<Vec<u8>>();
    let reader_permit = Arc::new(permit);
    let printer_permit = Arc::clone(&reader_permit);
    tokio::task::spawn_blocking(move || {
        let _permit = reader_permit;
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
    tokio::task::spawn_blocking(move || {
        let _permit = printer_permit;
        print_pieces(&read, &printed, &pieces, &spare_pieces, piece_bytes);
    });
    Pieces { made, written }
}

/// A batch of points read, and whether the reply's points are all read
/// with it (or why they cannot be).
type Batch = (ReadRows, eardrum_storage::Result<bool>);

/// The printing thread: batches from `read` printed into pieces of about
/// `piece_bytes` (reusing `spare_pieces`) and sent to `pieces`, batches
/// given back to `printed`; returns after the last piece, or once either
/// side is gone.
fn print_pieces(
    read: &mpsc::Receiver<Batch>,
    printed: &mpsc::Sender<ReadRows>,
    pieces: &async_mpsc::Sender<Piece>,
    spare_pieces: &mpsc::Receiver<Vec<u8>>,
    piece_bytes: usize,
) {
    loop {
        let mut piece = spare_pieces.try_recv().unwrap_or_else(|_| Vec::with_capacity(2 * piece_bytes));
        let done = loop {
            let Ok((rows, done)) = read.recv() else { return };
            if let Ok(last) = done {
                write_rows(&rows, last, &mut piece);
            }
            // Only the reader's end makes this fail; the batch is dropped.
            let _ = printed.send(rows);
            if !matches!(done, Ok(false)) || piece.len() >= piece_bytes {
                break done;
            }
        };
        let last = !matches!(done, Ok(false));
        if pieces.blocking_send((piece, done)).is_err() || last {
            return;
        }
    }
}
