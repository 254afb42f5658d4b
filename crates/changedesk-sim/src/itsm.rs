//! What the mocks of change-control systems ([`crate::servicenow`],
//! [`crate::jira`], [`crate::glpi`]) share: the faults a test queues
//! ([`Fault`]), for any request or for creates only, the request log
//! ([`MockRequest`]), the mock's clock, and the handle's common methods
//! ([`MockHandle`]). Each mock renders a fault in its system's own error
//! shape (`ErrorShape`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::mock::{self, FaultQueue, MockClock, MockServer, RequestLog, Stop};

/// An answer given instead of (or after) processing a request (see
/// [`MockHandle::fail_next`] and [`MockHandle::fail_next_create`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After` (and the system's other throttling headers).
    TooManyRequests {
        /// The `Retry-After` seconds.
        retry_after_secs: u64,
    },
    /// This status with the system's error body (an invalid one answers
    /// 500).
    Status(u16),
    /// Process the request (a create commits its record), then drop the
    /// connection without answering: the failure that makes duplicates
    /// when a client retries a create blindly.
    ProcessThenDrop,
    /// Process the request, then wait this long before answering (meant to
    /// outlast the client's timeout: the system acted, the client never
    /// hears). Ends early at shutdown.
    Delay(Duration),
}

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockRequest {
    /// 1, 2, … in arrival order.
    pub seq: u64,
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The status answered (0: the connection was dropped).
    pub status: u16,
}

/// How a system renders a fault's answer.
pub(crate) trait ErrorShape {
    /// An error answer with this status and message.
    fn error(&self, status: StatusCode, message: &str) -> Response;
    /// A 429 telling to retry after `secs`.
    fn throttled(&self, secs: u64) -> Response;
}

/// What every mock of a change-control system keeps beside its records.
pub(crate) struct Core {
    pub(crate) clock: MockClock,
    requests: RequestLog<MockRequest>,
    faults: FaultQueue<Fault>,
    create_faults: FaultQueue<Fault>,
    stop: Stop,
}

impl Core {
    pub(crate) fn new(stop: Stop) -> Core {
        Core {
            clock: MockClock::new(),
            requests: RequestLog::new(),
            faults: FaultQueue::new(),
            create_faults: FaultQueue::new(),
            stop,
        }
    }

    /// Answers a request: a queued fault (any request's first, then, for
    /// a `create`, the creates' own), else `process`; logs the answer.
    /// [`Fault::ProcessThenDrop`] processes, then drops the connection: the
    /// handler unwinds (without the panic hook) out of the connection's
    /// task, which closes the socket unanswered.
    pub(crate) async fn answer(
        &self,
        shape: &(dyn ErrorShape + Sync),
        method: &Method,
        uri: (&str, Option<&str>),
        create: bool,
        process: impl FnOnce() -> Response,
    ) -> Response {
        let seq = self.requests.arrived();
        let log = |status: u16| {
            self.requests.push(MockRequest {
                seq,
                method: method.to_string(),
                path: uri.0.to_owned(),
                query: uri.1.map(str::to_owned),
                status,
            });
        };
        let fault = self
            .faults
            .pop()
            .or_else(|| create.then(|| self.create_faults.pop()).flatten());
        let response = match fault {
            Some(Fault::TooManyRequests { retry_after_secs }) => shape.throttled(retry_after_secs),
            Some(Fault::Status(code)) => shape.error(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "Simulated fault",
            ),
            Some(Fault::ProcessThenDrop) => {
                let _committed = process();
                log(0);
                std::panic::resume_unwind(Box::new("mock: connection dropped"));
            }
            Some(Fault::Delay(d)) => {
                // logged before the wait: the client may hang up meanwhile,
                // which ends this handler
                let processed = process();
                log(processed.status().as_u16());
                self.stop.sleep(d).await;
                return processed;
            }
            None => process(),
        };
        log(response.status().as_u16());
        response
    }
}

impl Core {
    /// As [`Core::answer`], but with `refused` (the mock's own checks of
    /// the request failed) answered instead of `process` — faults of any
    /// request still first.
    pub(crate) async fn answer_unless(
        &self,
        shape: &(dyn ErrorShape + Sync),
        method: &Method,
        uri: (&str, Option<&str>),
        refused: Option<Response>,
        create: bool,
        process: impl FnOnce() -> Response,
    ) -> Response {
        match refused {
            Some(r) => self.answer(shape, method, uri, false, || r).await,
            None => self.answer(shape, method, uri, create, process).await,
        }
    }
}

/// A mock's state: its configuration, its `Core`, and its records
/// behind a lock.
pub struct MockState<C, R> {
    pub(crate) config: C,
    pub(crate) core: Core,
    records: Mutex<R>,
}

impl<C, R> MockState<C, R> {
    pub(crate) fn new(config: C, records: R, stop: Stop) -> MockState<C, R> {
        MockState {
            config,
            core: Core::new(stop),
            records: Mutex::new(records),
        }
    }

    /// The records, locked (also when a thread panicked holding them).
    pub(crate) fn lock(&self) -> MutexGuard<'_, R> {
        mock::lock(&self.records)
    }
}

/// A running mock. It stops at [`MockHandle::shutdown`] or when dropped.
pub struct MockHandle<C, R> {
    pub(crate) shared: Arc<MockState<C, R>>,
    server: MockServer,
}

impl<C, R> std::fmt::Debug for MockHandle<C, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockHandle")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

impl<C: Send + Sync + 'static, R: Send + 'static> MockHandle<C, R> {
    /// Serves `app` (its state `shared`) on `127.0.0.1` (a free port);
    /// `name` names the mock in the error logged if serving fails.
    pub(crate) async fn start(
        name: &'static str,
        app: axum::Router,
        shared: Arc<MockState<C, R>>,
        stop: Stop,
    ) -> std::io::Result<MockHandle<C, R>> {
        let server = MockServer::start(name, app, stop).await?;
        Ok(MockHandle { shared, server })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every request with its answer, in arrival order.
    pub fn requests(&self) -> Vec<MockRequest> {
        self.shared.core.requests.in_order(|r| r.seq)
    }

    /// Queues answers for the next requests, whatever they are, in order
    /// (appended to what is queued).
    pub fn fail_next(&self, faults: Vec<Fault>) {
        self.shared.core.faults.extend(faults);
    }

    /// Queues answers for the next creates only, whatever other requests
    /// come between; the queue of [`MockHandle::fail_next`] is asked first.
    pub fn fail_next_create(&self, faults: Vec<Fault>) {
        self.shared.core.create_faults.extend(faults);
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &C {
        &self.shared.config
    }

    /// Lets `by` pass on the mock's clock.
    pub fn advance(&self, by: Duration) {
        self.shared.core.clock.advance(by);
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// A JSON answer.
pub(crate) fn json_answer(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

/// A header's text, trimmed.
pub(crate) fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// The request's `Host` (for `Location` and `self` links).
pub(crate) fn host_of(headers: &HeaderMap) -> String {
    header_text(headers, "host")
        .unwrap_or("127.0.0.1")
        .to_owned()
}

/// Whether `Authorization: Basic` carries `user:password`.
pub(crate) fn basic_is(headers: &HeaderMap, user: &str, password: &str) -> bool {
    use base64::Engine as _;
    let expected = format!("{user}:{password}");
    header_text(headers, "authorization")
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .is_some_and(|d| d == expected.as_bytes())
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a mock-clock instant, counted from
/// 2026-02-17 00:00:00, and the instant itself.
pub(crate) fn instant(at: Duration) -> time::OffsetDateTime {
    time::macros::datetime!(2026-02-17 00:00:00 UTC) + at
}

/// `YYYY-MM-DD HH:MM:SS` of a mock-clock instant ([`instant`]).
pub(crate) fn plain_time(at: Duration) -> String {
    let t = instant(at);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
