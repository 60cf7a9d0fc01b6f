//! Getting a response at all: timeouts and our own retries, before the
//! first byte of an answer.
//!
//! [`RetryingClient`] is the HTTP service async-openai sends requests
//! through. It waits at most `first_byte` for response headers, and retries
//! connection failures, timeouts, 429 (except `insufficient_quota`) and 5xx
//! with jittered exponential backoff, honouring `Retry-After` in seconds or
//! as an HTTP date (capped). Each wait is announced on a channel so the user
//! sees it. Once a successful response has started, nothing is retried: a
//! broken stream is the caller's to report. Other statuses pass through for
//! async-openai to turn into an error.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use tokio::sync::mpsc;

use crate::config::RetryPolicy;

/// A wait before another try, for the user to see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryNotice {
    /// The try about to be made (2 = the first retry).
    pub next_try: u32,
    pub tries: u32,
    pub wait: Duration,
    pub reason: String,
}

/// A failure below HTTP (no connection, no response in time).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

/// The wait a response asks for: `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(at.timestamp()).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The backoff before retry `retry` (0-based): half the exponential step
/// plus a random half, never above the cap.
pub fn backoff(policy: &RetryPolicy, retry: u32, jitter: f64) -> Duration {
    let step = policy
        .base
        .saturating_mul(1 << retry.min(16))
        .min(policy.cap);
    step.div_f64(2.0) + step.div_f64(2.0).mul_f64(jitter.clamp(0.0, 1.0))
}

/// A cheap random fraction in [0, 1) for jitter; no need for a real RNG.
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1000) / 1000.0
}

/// Sends requests through our own client, retrying what is worth retrying.
#[derive(Clone, Debug)]
pub struct RetryingClient {
    pub http: reqwest::Client,
    pub policy: RetryPolicy,
    pub first_byte: Duration,
    pub notices: Option<mpsc::UnboundedSender<RetryNotice>>,
    /// Where a successful answer's bytes are counted; its body is then
    /// passed on in whole lines ([`super::lines`]).
    pub activity: Option<super::lines::Activity>,
}

/// Why a try failed, and what to hand back if no retry is left.
type Failed = (String, Result<Response, OpenAIError>);

impl RetryingClient {
    async fn try_once(&self, factory: &HttpRequestFactory) -> Result<Response, Failed> {
        let request = factory.build().await.map_err(|e| (e.to_string(), Err(e)))?;
        let failed = |why: String| {
            (
                why.clone(),
                Err(OpenAIError::Boxed(Box::new(TransportError(why)))),
            )
        };
        let response = match tokio::time::timeout(self.first_byte, self.http.execute(request)).await
        {
            Err(_) => {
                return Err(failed(format!(
                    "no response within {}s",
                    self.first_byte.as_secs()
                )));
            }
            Ok(Err(e)) if e.is_connect() || e.is_timeout() || e.is_request() => {
                return Err(failed(format!("cannot connect: {}", root_cause(&e))));
            }
            Ok(Err(e)) => return Err((e.to_string(), Err(OpenAIError::Reqwest(e)))),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success()
            && let Some(activity) = &self.activity
        {
            return Ok(in_whole_lines(response, activity.clone()));
        }
        if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
            return Ok(response);
        }
        // Read the body to tell a quota error from a rate limit, then hand
        // an identical response on if it is not retried.
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_default();
        let quota = String::from_utf8_lossy(&body).contains("insufficient_quota");
        let mut rebuilt = http::Response::new(body);
        *rebuilt.status_mut() = status;
        *rebuilt.headers_mut() = headers.clone();
        let rebuilt = Response::from(rebuilt);
        if quota {
            return Ok(rebuilt);
        }
        let reason = format!(
            "{status}{}",
            retry_after(&headers, SystemTime::now())
                .map_or(String::new(), |d| format!(", Retry-After {}s", d.as_secs()))
        );
        Err((reason, Ok(rebuilt)))
    }

    /// The wait before the next try, from the server's hint or our backoff.
    fn wait(&self, retry: u32, hinted: Option<Duration>) -> Duration {
        hinted.map_or_else(
            || backoff(&self.policy, retry, jitter()),
            |d| d.min(self.policy.cap),
        )
    }

    async fn send(self, factory: HttpRequestFactory) -> Result<Response, OpenAIError> {
        let mut retry = 0;
        loop {
            let (reason, last) = match self.try_once(&factory).await {
                Ok(response) => return Ok(response),
                Err(failed) => failed,
            };
            if retry >= self.policy.max_retries {
                return last;
            }
            let hinted = last
                .as_ref()
                .ok()
                .and_then(|r| retry_after(r.headers(), SystemTime::now()));
            let wait = self.wait(retry, hinted);
            if let Some(tx) = &self.notices {
                let _ = tx.send(RetryNotice {
                    next_try: retry + 2,
                    tries: self.policy.max_retries + 1,
                    wait,
                    reason,
                });
            }
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }
}

/// `response` with its body re-cut into whole lines, its bytes counted.
fn in_whole_lines(response: Response, activity: super::lines::Activity) -> Response {
    let status = response.status();
    let headers = response.headers().clone();
    let lines =
        super::lines::whole_lines(response.bytes_stream(), activity, super::lines::MAX_LINE);
    let mut rebuilt = http::Response::new(reqwest::Body::wrap_stream(lines));
    *rebuilt.status_mut() = status;
    *rebuilt.headers_mut() = headers;
    Response::from(rebuilt)
}

/// The innermost cause of a reqwest error, which says what actually failed.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

impl tower::Service<HttpRequestFactory> for RetryingClient {
    type Response = Response;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Result<Response, OpenAIError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        Box::pin(self.clone().send(factory))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, value.parse().expect("header"));
        h
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            retry_after(&headers("7"), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:40 GMT"), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:30 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy = RetryPolicy {
            max_retries: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        assert_eq!(backoff(&policy, 0, 0.0), Duration::from_millis(50));
        assert_eq!(backoff(&policy, 0, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(&policy, 2, 0.5), Duration::from_millis(300));
        assert_eq!(backoff(&policy, 30, 1.0), Duration::from_secs(1));
    }
}
