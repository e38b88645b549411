//! Replies written by a read's blocking task and streamed to the client as
//! they are made, through a bounded channel: the server holds a buffer of
//! the reply, not the reply.
//!
//! The status is decided late: the first [`HEAD_BYTES`] are kept back, so a
//! reply that fails before it grows that large (a bad pattern, a spent
//! budget, a backend that is down) still gets its error status and message.
//! A failure after that can only cut the reply short: the connection is
//! closed without the body's end, which every HTTP client reports as an
//! error (never as a complete reply). Reads check their budgets before they
//! write, so that this is rare.

use super::failure::{ApiError, ApiResult};
use super::limits::check_reply_bytes;
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

/// What is kept back before the status is decided.
const HEAD_BYTES: usize = 256 * 1024;
/// The size of each piece sent after that.
const CHUNK_BYTES: usize = 64 * 1024;
/// Pieces in flight between the task and the connection.
const CHANNEL_CHUNKS: usize = 4;
/// How long a client may leave a piece unread before the reply is given
/// up: a client that stops reading must not hold a read slot for ever.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a read's task writes its reply.
#[derive(Debug)]
pub(crate) struct ReplyWriter {
    buffer: Vec<u8>,
    /// Set until the status is decided.
    head: Option<oneshot::Sender<ApiResult<&'static str>>>,
    /// The reply's content type, which the work may change until the
    /// status is decided.
    content_type: &'static str,
    chunks: mpsc::Sender<Piece>,
    runtime: Handle,
    written: usize,
    max_bytes: usize,
    finished: bool,
}

impl ReplyWriter {
    /// Sets the reply's content type; it counts while nothing of the reply
    /// has been sent (the first 256 KiB), which is where a work decides it.
    pub(crate) fn set_content_type(&mut self, content_type: &'static str) {
        self.content_type = content_type;
    }

    /// Appends to the reply.
    ///
    /// # Errors
    ///
    /// [`ApiError::OverBudget`] once the reply passes `max_bytes`, and an
    /// [`ApiError::Internal`] when the client went away or stopped reading.
    pub(crate) fn write(&mut self, text: &str) -> ApiResult<()> {
        self.written += text.len();
        check_reply_bytes(self.written, self.max_bytes)?;
        self.buffer.extend_from_slice(text.as_bytes());
        let threshold = if self.head.is_some() { HEAD_BYTES } else { CHUNK_BYTES };
        if self.buffer.len() >= threshold {
            self.decide(Ok(()));
            self.send_buffer()?;
        }
        Ok(())
    }

    /// Ends the reply with `outcome`: sent whole, or its error status when
    /// nothing was sent yet, or cut short.
    fn finish(mut self, outcome: ApiResult<()>) {
        self.finished = true;
        match outcome {
            Ok(()) => {
                self.decide(Ok(()));
                if self.send_buffer().and_then(|()| self.send(Piece::End)).is_err() {
                    tracing::debug!("a streamed reply's client went away before its end");
                }
            }
            Err(error) if self.head.is_some() => self.decide(Err(error)),
            Err(error) => cut_short(&format!("{error:?}")),
        }
    }

    fn decide(&mut self, outcome: ApiResult<()>) {
        if let Some(head) = self.head.take() {
            let _ = head.send(outcome.map(|()| self.content_type));
        }
    }

    fn send_buffer(&mut self) -> ApiResult<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buffer));
        self.send(Piece::Data(chunk))
    }

    fn send(&mut self, piece: Piece) -> ApiResult<()> {
        let sent = self.runtime.block_on(tokio::time::timeout(SEND_TIMEOUT, self.chunks.send(piece)));
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(ApiError::Internal("the client went away".to_owned())),
            Err(_) => Err(ApiError::Internal(format!(
                "the client read nothing of the reply for {} s",
                SEND_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// What goes through the channel: the reply's bytes, then its end. A
/// channel that closes before the end is a reply cut short.
#[derive(Debug)]
enum Piece {
    Data(Bytes),
    End,
}

/// Logs why a reply ends early; the body then ends without its [`Piece::End`].
fn cut_short(why: &str) {
    tracing::warn!(why, "cutting a streamed reply short");
}

impl Drop for ReplyWriter {
    /// A task that panicked mid-reply: the reply must not look complete.
    fn drop(&mut self) {
        if !self.finished {
            self.decide(Err(ApiError::Internal("the request's task failed".to_owned())));
            cut_short("the request's task failed");
        }
    }
}

/// Runs `work` on a blocking thread (the caller holds its read slot in
/// `permit`), streaming what it writes as the reply's body.
///
/// # Errors
///
/// The error `work` returned before its reply grew past [`HEAD_BYTES`].
pub(crate) async fn streamed<P: Send + 'static>(
    permit: P,
    content_type: &'static str,
    max_bytes: usize,
    work: impl FnOnce(&mut ReplyWriter) -> ApiResult<()> + Send + 'static,
) -> ApiResult<Response> {
    let (head, decided) = oneshot::channel();
    let (chunks, receiver) = mpsc::channel(CHANNEL_CHUNKS);
    let mut writer = ReplyWriter {
        buffer: Vec::new(),
        head: Some(head),
        content_type,
        chunks,
        runtime: Handle::current(),
        written: 0,
        max_bytes,
        finished: false,
    };
    tokio::task::spawn_blocking(move || {
        let outcome = work(&mut writer);
        writer.finish(outcome);
        drop(permit);
    });
    match decided.await {
        Ok(Ok(content_type)) => {
            let body = Body::new(ChannelBody { pieces: receiver, ended: false });
            Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
        }
        Ok(Err(error)) => Err(error),
        Err(_) => Err(ApiError::Internal("the request's task failed".to_owned())),
    }
}

/// The body of a streamed reply: the pieces as the task sends them; an
/// error (the connection is closed without the body's end) when the task
/// stops before sending the end.
struct ChannelBody {
    pieces: mpsc::Receiver<Piece>,
    ended: bool,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        this.pieces.poll_recv(cx).map(|piece| match piece {
            Some(Piece::Data(bytes)) => Some(Ok(Frame::data(bytes))),
            Some(Piece::End) => {
                this.ended = true;
                None
            }
            None => Some(Err(io::Error::other("the reply was cut short"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> Result<String, String> {
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .map(|bytes| String::from_utf8(bytes.to_vec()).unwrap())
            .map_err(|error| error.to_string())
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn small_replies_keep_their_error_status_and_large_ones_stream_or_are_cut_short() {
        let fail_early = streamed((), "text/plain", 1 << 30, |out| {
            out.write("partial")?;
            Err(ApiError::BadRequest("no".to_owned()))
        });
        assert!(matches!(fail_early.await, Err(ApiError::BadRequest(_))));

        let piece = "x".repeat(1000);
        let whole =
            streamed((), "text/plain", 1 << 30, move |out| (0..1000).try_for_each(|_| out.write(&piece)));
        assert_eq!(body_of(whole.await.unwrap()).await.unwrap().len(), 1_000_000);

        let piece = "y".repeat(1000);
        let cut = streamed((), "text/plain", 1 << 30, move |out| {
            (0..500).try_for_each(|_| out.write(&piece))?;
            Err(ApiError::Internal("late".to_owned()))
        });
        assert!(body_of(cut.await.unwrap()).await.is_err(), "a late failure is not a complete reply");

        let piece = "z".repeat(1000);
        let panicked = streamed((), "text/plain", 1 << 30, move |out| {
            (0..500).try_for_each(|_| out.write(&piece))?;
            panic!("mid-reply")
        });
        assert!(body_of(panicked.await.unwrap()).await.is_err(), "a panic is not a complete reply");

        let over = streamed((), "text/plain", 100, |out| out.write(&"w".repeat(101)));
        assert!(matches!(over.await, Err(ApiError::OverBudget(_))));
    }
}
