//! What the in-process HTTP mocks ([`crate::webhooks`], [`crate::teams`],
//! [`crate::slack`]) share: a server on a free loopback port that stops
//! at shutdown or when its handle is dropped ([`MockServer`], [`Stop`]),
//! the answers a test queues for the next requests ([`FaultQueue`]), the
//! log of the requests answered ([`RequestLog`]), the mock's own clock
//! ([`MockClock`]), and a mutex lock that survives poisoning ([`lock`]).

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Locks `mutex`, also when a thread panicked holding it (a failed
/// assertion in one test must not poison the mock for the rest).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A mock's stop signal: set once, at shutdown or when the handle is
/// dropped. The server and the handlers that wait (a delay fault) watch
/// it; clones share it.
#[derive(Clone)]
pub(crate) struct Stop(watch::Sender<bool>);

impl Stop {
    /// A signal not set yet.
    pub(crate) fn new() -> Stop {
        Stop(watch::channel(false).0)
    }

    fn set(&self) {
        self.0.send_replace(true);
    }

    /// Returns once the signal is set.
    async fn stopped(&self) {
        let _ = self.0.subscribe().wait_for(|stop| *stop).await;
    }

    /// Waits `delay`, or less if the mock stops meanwhile: whether the
    /// whole delay passed.
    pub(crate) async fn sleep(&self, delay: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            () = self.stopped() => false,
        }
    }
}

/// A router served on `127.0.0.1` (a free port) by a tokio task, with
/// graceful shutdown. It stops at [`MockServer::shutdown`] or when dropped.
pub(crate) struct MockServer {
    addr: SocketAddr,
    stop: Stop,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Binds and serves `app` until `stop` is set; `name` names the mock
    /// in the error logged if serving fails.
    pub(crate) async fn start(
        name: &'static str,
        app: Router,
        stop: Stop,
    ) -> std::io::Result<MockServer> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let stopping = stop.clone();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopping.stopped().await })
                .await;
            if let Err(e) = served {
                tracing::error!("{name} failed: {e}");
            }
        });
        Ok(MockServer {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sets the stop signal and waits for the server task.
    pub(crate) async fn shutdown(mut self) {
        self.stop.set();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop.set();
    }
}

/// The answers a test queued (`fail_next`): the next requests get them,
/// in order, instead of being processed.
pub(crate) struct FaultQueue<T>(Mutex<VecDeque<T>>);

impl<T> FaultQueue<T> {
    /// An empty queue.
    pub(crate) fn new() -> FaultQueue<T> {
        FaultQueue(Mutex::new(VecDeque::new()))
    }

    /// Appends `faults` to what is already queued.
    pub(crate) fn extend(&self, faults: impl IntoIterator<Item = T>) {
        lock(&self.0).extend(faults);
    }

    /// The next fault, if any, taken off the queue.
    pub(crate) fn pop(&self) -> Option<T> {
        lock(&self.0).pop_front()
    }
}

/// The requests a mock answered, each numbered on arrival (1, 2, …) and
/// logged once answered.
pub(crate) struct RequestLog<T> {
    next_seq: AtomicU64,
    entries: Mutex<Vec<T>>,
}

impl<T: Clone> RequestLog<T> {
    /// An empty log; the first request is number 1.
    pub(crate) fn new() -> RequestLog<T> {
        RequestLog {
            next_seq: AtomicU64::new(1),
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The number of a request that just arrived.
    pub(crate) fn arrived(&self) -> u64 {
        self.next_seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Logs an answered request.
    pub(crate) fn push(&self, entry: T) {
        lock(&self.entries).push(entry);
    }

    /// The log in arrival order (`seq` gives an entry's number).
    pub(crate) fn in_order(&self, seq: impl Fn(&T) -> u64) -> Vec<T> {
        let mut entries = lock(&self.entries).clone();
        entries.sort_by_key(seq);
        entries
    }
}

/// A mock's own clock: real time since it started plus whatever
/// [`MockClock::advance`] added.
pub(crate) struct MockClock {
    started: Instant,
    offset: Mutex<Duration>,
}

impl MockClock {
    /// A clock at zero.
    pub(crate) fn new() -> MockClock {
        MockClock {
            started: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        }
    }

    /// The time since the start, plus the advances.
    pub(crate) fn now(&self) -> Duration {
        self.started.elapsed() + *lock(&self.offset)
    }

    /// Lets `by` pass.
    pub(crate) fn advance(&self, by: Duration) {
        *lock(&self.offset) += by;
    }
}
