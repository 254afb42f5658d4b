//! A tenant's request budget: at most N requests in any 60 seconds and M in
//! any hour (Graph allows 240 and 800 per app per tenant for
//! `/admin/serviceAnnouncement`).
//!
//! A sliding-window log on `tokio::time::Instant`: the send times of the last
//! hour's requests (at most M of them). Waiters queue in order on an async
//! mutex and sleep with `tokio::time`, so paused-clock tests work.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub(crate) struct Budget {
    per_minute: usize,
    per_hour: usize,
    sent: Mutex<VecDeque<Instant>>,
}

impl Budget {
    pub fn new(per_minute: u32, per_hour: u32) -> Self {
        Budget {
            per_minute: per_minute.max(1) as usize,
            per_hour: per_hour.max(1) as usize,
            sent: Mutex::new(VecDeque::new()),
        }
    }

    /// Waits until one more request fits both windows and counts it as sent
    /// now. Returns how long it waited.
    pub async fn acquire(&self) -> Duration {
        let mut sent = self.sent.lock().await;
        let start = Instant::now();
        loop {
            let now = Instant::now();
            while sent
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= HOUR)
            {
                sent.pop_front();
            }
            let in_minute = sent
                .iter()
                .rev()
                .take_while(|t| now.saturating_duration_since(**t) < MINUTE)
                .count();
            let mut until: Option<Instant> = None;
            if in_minute >= self.per_minute {
                // the request that must leave the minute window first
                let first = sent
                    .len()
                    .checked_sub(self.per_minute)
                    .and_then(|k| sent.get(k));
                until = until.max(first.map(|t| *t + MINUTE));
            }
            if sent.len() >= self.per_hour {
                let first = sent
                    .len()
                    .checked_sub(self.per_hour)
                    .and_then(|k| sent.get(k));
                until = until.max(first.map(|t| *t + HOUR));
            }
            match until {
                None => {
                    sent.push_back(now);
                    return now.saturating_duration_since(start);
                }
                Some(t) => tokio::time::sleep_until(t).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn minute_window() {
        let b = Budget::new(5, 100);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(b.acquire().await, Duration::ZERO);
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        let waited = b.acquire().await;
        assert_eq!(waited, Duration::from_secs(50));
        assert_eq!(Instant::now() - t0, MINUTE);
        // the first five left the window together: four more fit now
        for _ in 0..4 {
            assert_eq!(b.acquire().await, Duration::ZERO);
        }
        tokio::time::advance(Duration::from_secs(15)).await;
        assert_eq!(b.acquire().await, Duration::from_secs(45));
        assert_eq!(Instant::now() - t0, 2 * MINUTE);
    }

    #[tokio::test(start_paused = true)]
    async fn hour_window() {
        let b = Budget::new(100, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            b.acquire().await;
            tokio::time::advance(Duration::from_secs(100)).await;
        }
        b.acquire().await;
        assert_eq!(Instant::now() - t0, HOUR);
        b.acquire().await;
        assert_eq!(Instant::now() - t0, HOUR + Duration::from_secs(100));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_share_the_budget() {
        let b = Arc::new(Budget::new(2, 100));
        let t0 = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let b = b.clone();
            tasks.spawn(async move {
                b.acquire().await;
                Instant::now() - t0
            });
        }
        let mut at: Vec<Duration> = tasks.join_all().await;
        at.sort();
        let secs: Vec<u64> = at.iter().map(|d| d.as_secs()).collect();
        assert_eq!(secs, vec![0, 0, 60, 60, 120, 120]);
    }
}
