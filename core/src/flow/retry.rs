//! When to send a call again: the decision every driver follows.

use std::time::Duration;

use crate::error::{Error, Outcome};

/// When to send a call again: drivers ask [`RetryPolicy::next_attempt`] after each failed
/// attempt (the `alipay-sdk` client takes one in `ClientBuilder::retry`; off unless given).
///
/// A call is retried only when it certainly did not reach Alipay ([`Outcome::NotSent`]), or
/// when its outcome is unknown ([`Outcome::Unknown`]: a reset or timeout after sending, a 5xx,
/// `20000`, `isp.*`, …) **and** its method is marked idempotent — methods that Alipay
/// de-duplicates by the caller's own number (`alipay.trade.precreate` / `create` / `pay` by
/// `out_trade_no`, `refund` by `out_request_no`, queries). The same [`Request`](crate::Request) is signed
/// again (a fresh timestamp), never with a new `out_trade_no`. A definitive failure is never
/// retried. Delays grow exponentially with jitter, within a total deadline.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    deadline: Duration,
    idempotent: std::collections::HashSet<String>,
}

impl RetryPolicy {
    /// At most `max_attempts` attempts in all (the first included); delays from 200 ms up to
    /// 2 s; a 30 s deadline; no method idempotent yet.
    pub fn new(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            deadline: Duration::from_secs(30),
            idempotent: Default::default(),
        }
    }

    /// The first delay and the largest one (each attempt doubles it, then jitter picks a
    /// delay between half of it and all of it).
    pub fn backoff(mut self, base: Duration, max: Duration) -> RetryPolicy {
        (self.base_delay, self.max_delay) = (base, max.max(base));
        self
    }

    /// No retry starts after this much time since the first attempt.
    pub fn deadline(mut self, total: Duration) -> RetryPolicy {
        self.deadline = total;
        self
    }

    /// Marks `method` idempotent: an unknown outcome may be retried for it.
    pub fn idempotent(mut self, method: impl Into<String>) -> RetryPolicy {
        self.idempotent.insert(method.into());
        self
    }

    /// After attempt number `attempt` failed with `error`, `elapsed` after the first attempt
    /// started: how long to wait before the next attempt, or `None` to give up and return
    /// `error`. `method` is what [`Self::idempotent`] names (the gateway method, or the v3
    /// path). Every driver retries by this one decision.
    pub fn next_attempt(&self, error: &Error, method: &str, attempt: u32, elapsed: Duration) -> Option<Duration> {
        if attempt >= self.max_attempts || !self.allows(error, method) {
            return None;
        }
        let delay = self.delay(attempt);
        (elapsed + delay <= self.deadline).then_some(delay)
    }

    fn allows(&self, error: &Error, method: &str) -> bool {
        match error.outcome() {
            Outcome::NotSent => true,
            Outcome::Unknown => self.idempotent.contains(method),
            _ => false,
        }
    }

    /// The delay before attempt `attempt + 1`: exponential, capped, with jitter.
    fn delay(&self, attempt: u32) -> Duration {
        let exponential = self.base_delay.saturating_mul(1 << attempt.saturating_sub(1).min(16));
        crate::random::jitter(exponential.min(self.max_delay))
    }
}
