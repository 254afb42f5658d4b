//! The retry schedule for notification deliveries.
//!
//! The steps are the Standard Webhooks example schedule: immediately, then
//! 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h, so a delivery
//! is given up (dead-lettered by the caller) after [`MAX_ATTEMPTS`]
//! attempts spread over about three days.

use std::time::Duration;

/// Attempts per delivery, the first included; after the last one fails
/// the caller dead-letters the delivery.
pub const MAX_ATTEMPTS: u32 = 10;

/// The longest wait, and the cap on an honoured `Retry-After`.
const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

/// Scheduled wait before attempt `n` (index `n - 1`), in seconds.
const SCHEDULE_SECS: [u64; MAX_ATTEMPTS as usize] = [
    0,
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
];

/// How long to wait before attempt number `attempt` (1-based: attempt 1 is
/// the first send and goes immediately; after attempt `n` fails, schedule
/// attempt `n + 1` after `backoff(n + 1, …)`).
///
/// - The step is the schedule's entry for `attempt`; attempts past the
///   schedule use its last step (24 h), attempt 0 counts as 1.
/// - `jitter` (expected uniform in `0..=1`, passed in so this stays
///   deterministic) spreads the wait over `step/2 ..= step`: `0` gives half
///   the step, `1` the full step. Out-of-range values are clamped, a
///   non-finite one counts as `1`.
/// - The result is never less than `retry_after` (the server's
///   `Retry-After`), which is itself capped at 24 h.
pub fn backoff(attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
    let index = usize::try_from(attempt.max(1) - 1).unwrap_or(usize::MAX);
    let step_secs = SCHEDULE_SECS
        .get(index)
        .or(SCHEDULE_SECS.last())
        .copied()
        .unwrap_or(0);
    let step = Duration::from_secs(step_secs);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        1.0
    };
    let half = step / 2;
    let jittered = half + (step - half).mul_f64(jitter);
    let floor = retry_after.map_or(Duration::ZERO, |r| r.min(MAX_DELAY));
    jittered.max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1;
    const M: u64 = 60;
    const H: u64 = 3600;

    #[test]
    fn schedule_table_full_and_half_jitter() {
        let expected = [
            (1, 0),
            (2, 5 * S),
            (3, 5 * M),
            (4, 30 * M),
            (5, 2 * H),
            (6, 5 * H),
            (7, 10 * H),
            (8, 14 * H),
            (9, 20 * H),
            (10, 24 * H),
            (11, 24 * H),
            (1000, 24 * H),
        ];
        for (attempt, secs) in expected {
            assert_eq!(
                backoff(attempt, None, 1.0),
                Duration::from_secs(secs),
                "attempt {attempt} with full jitter"
            );
            assert_eq!(
                backoff(attempt, None, 0.0),
                Duration::from_secs(secs) / 2,
                "attempt {attempt} with no jitter reaches half the step"
            );
        }
        assert_eq!(backoff(0, None, 1.0), Duration::ZERO);
        assert_eq!(SCHEDULE_SECS.len(), MAX_ATTEMPTS as usize);
    }

    #[test]
    fn jitter_stays_within_half_and_full_step() {
        let step = Duration::from_secs(30 * M);
        for i in 0..=100 {
            let j = f64::from(i) / 100.0;
            let d = backoff(4, None, j);
            assert!(d >= step / 2 && d <= step, "jitter {j} gave {d:?}");
        }
        assert_eq!(backoff(4, None, 0.5), Duration::from_secs(22 * M + 30));
        // out of range and non-finite jitter
        assert_eq!(backoff(4, None, -3.0), step / 2);
        assert_eq!(backoff(4, None, 7.0), step);
        assert_eq!(backoff(4, None, f64::NAN), step);
    }

    #[test]
    fn retry_after_is_a_floor_capped_at_a_day() {
        // longer than the step: wins
        assert_eq!(
            backoff(2, Some(Duration::from_secs(120)), 1.0),
            Duration::from_secs(120)
        );
        assert_eq!(
            backoff(1, Some(Duration::from_secs(30)), 0.0),
            Duration::from_secs(30)
        );
        // shorter than the step: the step wins
        assert_eq!(
            backoff(5, Some(Duration::from_secs(10)), 1.0),
            Duration::from_secs(2 * H)
        );
        // shorter than the jittered step: still the jittered step
        assert_eq!(
            backoff(5, Some(Duration::from_secs(10)), 0.0),
            Duration::from_secs(H)
        );
        // absurd Retry-After is capped at 24 h
        assert_eq!(
            backoff(2, Some(Duration::from_secs(30 * 24 * H)), 0.0),
            Duration::from_secs(24 * H)
        );
        assert_eq!(
            backoff(2, Some(Duration::MAX), 0.0),
            Duration::from_secs(24 * H)
        );
    }
}
