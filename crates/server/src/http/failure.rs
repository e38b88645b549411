//! The HTTP API's one error type, and running a request's heavy work off
//! the async workers under the cap on concurrent reads.
//!
//! Every route answers its errors the same way: a status and a JSON body
//! `{"error": MESSAGE}` whose message says what was wrong and, where a
//! limit was passed, which one and how to narrow the request.

use super::stream::ReplyWriter;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a request was not answered.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// The request is malformed or asks for something impossible (a bad
    /// pattern, a time out of range, a pattern past a limit): 400.
    BadRequest(String),
    /// The request is well formed but its answer would pass one of the
    /// per-request read budgets: 422, with the budget and how to narrow.
    OverBudget(String),
    /// Every slot for heavy reads stayed taken for the whole wait: 503
    /// with `Retry-After`.
    Busy { waited: Duration },
    /// The backend could not answer (a ClickHouse cluster that is down):
    /// 503; the client may retry.
    Unavailable(eardrum_storage::Error),
    /// The work failed inside the server (a task that panicked): 500.
    Internal(String),
}

/// A `Result` whose error is an [`ApiError`].
pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// The status the error is answered with.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::OverBudget(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Busy { .. } | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the error's JSON body says.
    pub(crate) fn message(&self) -> String {
        match self {
            ApiError::BadRequest(message) | ApiError::OverBudget(message) | ApiError::Internal(message) => {
                message.clone()
            }
            ApiError::Busy { waited } => format!(
                "too many heavy reads at once: none finished within {} s; retry shortly, or raise \
                 --max-concurrent-reads",
                waited.as_secs()
            ),
            ApiError::Unavailable(failure) => failure.to_string(),
        }
    }
}

impl From<eardrum_storage::Error> for ApiError {
    /// A storage error on a read is the backend's failure to answer.
    fn from(failure: eardrum_storage::Error) -> ApiError {
        ApiError::Unavailable(failure)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self.message(), "an HTTP request failed inside the server");
        }
        let mut response = error(status, &self.message());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// An error as every route answers them: the status and a JSON message.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// The cap on reads that run at once: each holds a blocking thread and the
/// memory of what it reads, so past a few they only slow one another.
#[derive(Debug, Clone)]
pub(crate) struct ReadSlots {
    slots: Arc<Semaphore>,
    /// How long a read waits for a slot before it is answered 503.
    wait: Duration,
}

impl ReadSlots {
    /// `count` reads at once, each waiting at most `wait` for its turn.
    pub(crate) fn new(count: usize, wait: Duration) -> ReadSlots {
        ReadSlots { slots: Arc::new(Semaphore::new(count.max(1))), wait }
    }

    /// Runs `work` on a blocking thread once a slot is free: the parsing,
    /// matching and reading of a request never hold up the async workers
    /// (and with them the protocol's puts).
    ///
    /// # Errors
    ///
    /// [`ApiError::Busy`] when no slot freed up within the wait, an
    /// [`ApiError::Internal`] when `work` panicked, or what `work` returned.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let permit = self.acquire().await?;
        let outcome = tokio::task::spawn_blocking(move || {
            let outcome = work();
            drop(permit);
            outcome
        })
        .await;
        outcome.unwrap_or_else(|failure| {
            Err(ApiError::Internal(format!("the request's task failed: {failure}")))
        })
    }

    /// As [`ReadSlots::run`], with the reply streamed as `work` writes it
    /// (see [`super::stream`]): a reply of `content_type`, at most
    /// `max_bytes` long.
    ///
    /// # Errors
    ///
    /// As [`ReadSlots::run`], for failures before the reply was under way.
    pub(crate) async fn stream(
        &self,
        content_type: &'static str,
        max_bytes: usize,
        work: impl FnOnce(&mut ReplyWriter) -> ApiResult<()> + Send + 'static,
    ) -> ApiResult<Response> {
        let permit = self.acquire().await?;
        super::stream::streamed(permit, content_type, max_bytes, work).await
    }

    /// A slot, within the wait.
    async fn acquire(&self) -> ApiResult<OwnedSemaphorePermit> {
        let acquired = tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned()).await;
        match acquired {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::Busy { waited: self.wait }),
        }
    }
}

/// Runs light blocking work (listing the data folder for the statistics)
/// off the async workers, outside the read cap.
///
/// # Errors
///
/// An [`ApiError::Internal`] when `work` panicked.
pub(crate) async fn off_workers<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|failure| ApiError::Internal(format!("the request's task failed: {failure}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_read_is_a_500_and_a_full_cap_a_503_with_retry_after() {
        let slots = ReadSlots::new(1, Duration::from_millis(50));
        let failed = slots.run(|| -> ApiResult<()> { panic!("boom") }).await.unwrap_err();
        assert_eq!(failed.into_response().status(), StatusCode::INTERNAL_SERVER_ERROR);

        let (started, release) = (Arc::new(tokio::sync::Notify::new()), Arc::new(std::sync::Barrier::new(2)));
        let holder = {
            let (slots, started, release) = (slots.clone(), Arc::clone(&started), Arc::clone(&release));
            tokio::spawn(async move {
                slots
                    .run(move || {
                        started.notify_one();
                        release.wait();
                        Ok(())
                    })
                    .await
            })
        };
        started.notified().await;
        let busy = slots.run(|| Ok(())).await.unwrap_err().into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()[header::RETRY_AFTER], "1");
        release.wait();
        holder.await.unwrap().unwrap();
        assert!(slots.run(|| Ok(())).await.is_ok(), "the slot is free again");
    }
}
