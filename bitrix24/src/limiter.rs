//! Client-side limits: the request-rate bucket per portal ([`RateLimiter`]) and the per-method
//! operating-time tracker.
//!
//! The portal's bucket: each request adds one, the counter drains at 2/s (Enterprise 5/s), and
//! past 50 (Enterprise 250) requests are rejected with 503 `QUERY_LIMIT_EXCEEDED`. A batch is
//! one request. The client mirrors the bucket with governor's GCRA and takes a permit at the
//! moment it sends, so concurrent callers can never exceed it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter as Gcra};

use crate::clock::{Clock, GovernorClock};
use crate::envelope::TimeInfo;

/// A request-rate quota.
///
/// ```
/// use bitrix24::RateLimit;
/// assert_eq!(RateLimit::standard().burst(), 50);
/// assert_eq!(RateLimit::enterprise().per_second(), 5.0);
/// assert!(RateLimit::custom(0.0, 10).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    per_second: f64,
    burst: u32,
}

impl RateLimit {
    /// Every plan but Enterprise: 2 requests/s, burst 50.
    pub const fn standard() -> Self {
        RateLimit {
            per_second: 2.0,
            burst: 50,
        }
    }

    /// Enterprise: 5 requests/s, burst 250.
    pub const fn enterprise() -> Self {
        RateLimit {
            per_second: 5.0,
            burst: 250,
        }
    }

    /// Any other quota (an on-premise portal, a share of a portal's quota).
    pub fn custom(per_second: f64, burst: u32) -> Result<Self, crate::Error> {
        if !(per_second.is_finite() && per_second > 0.0) || burst == 0 {
            return Err(crate::Error::Config(format!(
                "rate limit needs a positive rate and burst (got {per_second}/s, burst {burst})"
            )));
        }
        Ok(RateLimit { per_second, burst })
    }

    /// Requests per second once the burst is used.
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// Requests that may go at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    fn quota(self) -> Quota {
        let period = Duration::from_secs_f64(1.0 / self.per_second);
        Quota::with_period(period)
            .expect("positive period")
            .allow_burst(NonZeroU32::new(self.burst).expect("burst > 0"))
    }
}

type Bucket = Gcra<
    String,
    DashMapStateStore<String>,
    GovernorClock,
    governor::middleware::NoOpMiddleware<governor::nanos::Nanos>,
>;

/// A token bucket keyed by portal, shared by every clone of a client (and by several clients,
/// when given to each builder).
#[derive(Clone, Debug)]
pub struct RateLimiter {
    bucket: Arc<Bucket>,
    clock: GovernorClock,
    sleeper: Arc<dyn Clock>,
    limit: RateLimit,
}

impl RateLimiter {
    /// A limiter on the default (tokio) clock.
    pub fn new(limit: RateLimit) -> Self {
        Self::with_clock(limit, Arc::new(crate::clock::TokioClock::new()))
    }

    /// A limiter on the given clock.
    pub fn with_clock(limit: RateLimit, clock: Arc<dyn Clock>) -> Self {
        let gclock = GovernorClock::new(clock.clone());
        RateLimiter {
            bucket: Arc::new(Gcra::dashmap_with_clock(limit.quota(), gclock.clone())),
            clock: gclock,
            sleeper: clock,
            limit,
        }
    }

    /// The quota.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Waits until a request to `portal` may be sent, and takes the permit.
    pub async fn acquire(&self, portal: &str) {
        let key = portal.to_owned();
        loop {
            match self.bucket.check_key(&key) {
                Ok(()) => return,
                Err(not_until) => {
                    let wait = self.clock.until(not_until.earliest_possible());
                    // A little jitter so that waiters do not wake in lockstep; the permit is
                    // still checked atomically when they wake.
                    let jitter = Duration::from_micros(fastrand::u64(0..2_000));
                    self.sleeper.sleep(wait + jitter).await;
                }
            }
        }
    }
}

/// How the client treats the per-method operating-time limit (the portal blocks a method for
/// an app or webhook once it has used more than `limit_secs` of execution time in 10 minutes).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct OperatingPolicy {
    /// The portal's limit, seconds per 10 minutes (cloud: 480 by the docs' example).
    pub limit_secs: f64,
    /// From this share of the limit on, calls to the method wait for the window to move.
    pub slow_down_at: f64,
    /// The longest the client waits on its own; past it the call fails with
    /// [`crate::Error::OperatingLimit`] naming the reset time.
    pub max_wait: Duration,
}

impl Default for OperatingPolicy {
    fn default() -> Self {
        OperatingPolicy {
            limit_secs: 480.0,
            slow_down_at: 0.8,
            max_wait: Duration::from_secs(60),
        }
    }
}

impl OperatingPolicy {
    /// Sets the limit in seconds.
    #[must_use]
    pub fn limit_secs(mut self, secs: f64) -> Self {
        self.limit_secs = secs;
        self
    }

    /// Sets the share of the limit from which calls are delayed.
    #[must_use]
    pub fn slow_down_at(mut self, share: f64) -> Self {
        self.slow_down_at = share;
        self
    }

    /// Sets the longest self-imposed wait.
    #[must_use]
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }
}

/// What the tracker says about calling a method now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Gate {
    Go,
    Wait(Duration),
    /// Blocked until this unix time (or unknown).
    Blocked(Option<f64>),
}

#[derive(Debug, Clone, Copy)]
struct Usage {
    operating: f64,
    reset_at: Option<f64>,
    blocked: bool,
}

/// Operating time per method, as last reported by the portal.
#[derive(Debug, Default)]
pub(crate) struct OperatingTracker {
    usage: Mutex<HashMap<String, Usage>>,
}

impl OperatingTracker {
    /// Records a response's `time` block for `method`.
    pub fn record(&self, method: &str, time: &TimeInfo) {
        let Some(operating) = time.operating else {
            return;
        };
        if let Ok(mut map) = self.usage.lock() {
            map.insert(
                method.to_ascii_lowercase(),
                Usage {
                    operating,
                    reset_at: time.operating_reset_at,
                    blocked: false,
                },
            );
        }
    }

    /// Marks `method` blocked (the portal answered `OPERATION_TIME_LIMIT`); returns the reset time.
    pub fn block(&self, method: &str) -> Option<f64> {
        let mut map = self.usage.lock().ok()?;
        let entry = map.entry(method.to_ascii_lowercase()).or_insert(Usage {
            operating: f64::INFINITY,
            reset_at: None,
            blocked: true,
        });
        entry.blocked = true;
        entry.reset_at
    }

    /// The operating seconds last reported for `method`.
    pub fn operating(&self, method: &str) -> Option<f64> {
        let map = self.usage.lock().ok()?;
        map.get(&method.to_ascii_lowercase()).map(|u| u.operating)
    }

    /// Decides whether `method` may be called at unix time `now`.
    pub fn gate(&self, method: &str, now: f64, policy: &OperatingPolicy) -> Gate {
        let Ok(mut map) = self.usage.lock() else {
            return Gate::Go;
        };
        let key = method.to_ascii_lowercase();
        let Some(usage) = map.get(&key).copied() else {
            return Gate::Go;
        };
        if let Some(reset) = usage.reset_at
            && now >= reset
        {
            // The oldest minute has left the window: the next response tells the new figure.
            map.remove(&key);
            return Gate::Go;
        }
        let hot = usage.blocked || usage.operating >= policy.limit_secs * policy.slow_down_at;
        if !hot {
            return Gate::Go;
        }
        match usage.reset_at {
            Some(reset) => {
                let wait = Duration::from_secs_f64((reset - now).max(0.0));
                if wait <= policy.max_wait {
                    Gate::Wait(wait)
                } else {
                    Gate::Blocked(Some(reset))
                }
            }
            None if usage.blocked => Gate::Blocked(None),
            None => Gate::Go,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(operating: f64, reset: f64) -> TimeInfo {
        TimeInfo {
            operating: Some(operating),
            operating_reset_at: Some(reset),
            ..TimeInfo::default()
        }
    }

    #[test]
    fn gate_slows_down_then_blocks() {
        let t = OperatingTracker::default();
        let p = OperatingPolicy::default();
        t.record("crm.deal.list", &time(100.0, 1_000.0));
        assert_eq!(t.gate("crm.deal.list", 900.0, &p), Gate::Go);
        t.record("crm.deal.list", &time(400.0, 1_000.0));
        assert_eq!(
            t.gate("CRM.DEAL.LIST", 990.0, &p),
            Gate::Wait(Duration::from_secs(10))
        );
        assert_eq!(
            t.gate("crm.deal.list", 900.0, &p),
            Gate::Blocked(Some(1_000.0))
        );
        assert_eq!(t.gate("crm.deal.list", 1_000.0, &p), Gate::Go);
        assert_eq!(t.gate("crm.lead.list", 0.0, &p), Gate::Go);
    }

    #[test]
    fn block_without_reset_is_reported() {
        let t = OperatingTracker::default();
        let p = OperatingPolicy::default();
        assert_eq!(t.block("x"), None);
        assert_eq!(t.gate("x", 0.0, &p), Gate::Blocked(None));
    }
}
