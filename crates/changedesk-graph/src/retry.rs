//! When and how long to wait before trying a request again.

use std::time::Duration;

use rand::Rng as _;

use crate::error::{GraphError, Step};

/// The longest `Retry-After` taken at face value (anything longer exceeds
/// every sensible retry cap anyway).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// Statuses worth retrying: request timeout, throttling and the server-side
/// failures Graph documents as transient.
pub(crate) fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// A `Retry-After` value in delta-seconds, integer or fractional (Graph sends
/// `2.128`). The HTTP-date form is not used by Graph and yields `None`
/// (exponential backoff applies).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        secs.min(MAX_RETRY_AFTER.as_secs_f64()),
    ))
}

/// Full-jitter exponential backoff: a uniform wait in
/// `0..=min(max, base * 2^(failures - 1))`.
pub(crate) fn backoff(base: Duration, max: Duration, failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(30);
    let ceiling = base.saturating_mul(1u32 << exp).min(max);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::rng().random_range(0..=nanos))
}

/// The retry accounting of one operation (one fetch or token check).
#[derive(Debug)]
pub(crate) struct RetryBudget {
    pub tenant: String,
    pub max: Duration,
    /// Time spent on failed attempts and on waits before retries.
    pub spent: Duration,
}

impl RetryBudget {
    pub fn new(tenant: &str, max: Duration) -> Self {
        RetryBudget {
            tenant: tenant.to_string(),
            max,
            spent: Duration::ZERO,
        }
    }

    /// After a transient failure (which took `attempt_time`) of a `step`
    /// request tried `attempts` times: the wait before the next try, or
    /// [`GraphError::GaveUp`] when that wait would pass the cap.
    #[allow(clippy::too_many_arguments)]
    pub fn next_wait(
        &mut self,
        step: Step,
        attempt_time: Duration,
        attempts: u32,
        retry_after: Option<Duration>,
        base: Duration,
        max_backoff: Duration,
        last: &str,
    ) -> Result<Duration, GraphError> {
        self.spent += attempt_time;
        let wait = retry_after.unwrap_or_else(|| backoff(base, max_backoff, attempts));
        if self.spent + wait > self.max {
            let last = match retry_after {
                Some(ra) if ra > self.max => {
                    format!("{last} (the server asked to wait {ra:.1?})")
                }
                _ => last.to_string(),
            };
            return Err(GraphError::GaveUp {
                tenant: self.tenant.clone(),
                step,
                attempts,
                elapsed: self.spent,
                last,
            });
        }
        self.spent += wait;
        Ok(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(" 2.128 "),
            Some(Duration::from_millis(2128))
        );
        assert_eq!(parse_retry_after("0.05"), Some(Duration::from_millis(50)));
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("1e9"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("NaN"), None);
        assert_eq!(parse_retry_after(""), None);
    }

    #[test]
    fn backoff_is_bounded_and_grows() {
        let base = Duration::from_millis(500);
        let max = Duration::from_secs(30);
        for _ in 0..200 {
            assert!(backoff(base, max, 1) <= base);
            assert!(backoff(base, max, 3) <= Duration::from_secs(2));
            assert!(backoff(base, max, 40) <= max);
        }
        // full jitter spreads the waits
        let waits: std::collections::HashSet<_> = (0..50).map(|_| backoff(base, max, 5)).collect();
        assert!(waits.len() > 10);
    }

    #[test]
    fn statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_transient_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 501] {
            assert!(!is_transient_status(s), "{s}");
        }
    }

    #[test]
    fn gives_up_when_the_next_wait_passes_the_cap() {
        let read = Step::Read(crate::Resource::Messages);
        let mut b = RetryBudget::new("contoso", Duration::from_secs(10));
        let base = Duration::from_millis(1);
        let w = b
            .next_wait(
                read,
                Duration::from_secs(2),
                1,
                Some(Duration::from_secs(3)),
                base,
                base,
                "HTTP 429",
            )
            .expect("fits");
        assert_eq!(w, Duration::from_secs(3));
        assert_eq!(b.spent, Duration::from_secs(5));
        let e = b
            .next_wait(
                read,
                Duration::from_secs(1),
                2,
                Some(Duration::from_secs(5)),
                base,
                base,
                "HTTP 429 TooManyRequests",
            )
            .expect_err("gives up");
        assert_eq!(
            e.to_string(),
            "tenant contoso: reading messages: gave up after 2 attempts (6.0s spent retrying); last: HTTP 429 TooManyRequests"
        );
        let mut b = RetryBudget::new("contoso", Duration::from_secs(10));
        let e = b
            .next_wait(
                Step::Token,
                Duration::ZERO,
                1,
                Some(Duration::from_secs(60)),
                base,
                base,
                "HTTP 503",
            )
            .expect_err("gives up");
        assert!(
            e.to_string()
                .ends_with("last: HTTP 503 (the server asked to wait 60.0s)"),
            "{e}"
        );
    }
}
