//! Client-side limits: the request-rate bucket per portal ([`RateLimiter`]) and the per-method
//! operating-time tracker.
//!
//! The portal's bucket: each request adds one, the counter drains at 2/s (Enterprise 5/s), and
//! past 50 (Enterprise 250) requests are rejected with 503 `QUERY_LIMIT_EXCEEDED`. A batch is
//! one request. The client mirrors the bucket with governor's GCRA and takes a permit at the
//! moment it sends, so concurrent callers can never exceed it.
//!
//! Clients built with a quota and no limiter of their own share one limiter per portal
//! address and quota in the process ([`RateLimiter::shared`]), so several clients of one
//! portal (one per user token, say) never exceed its bucket together.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter as Gcra};

use crate::clock::{Clock, GovernorClock, secs};
use crate::response::TimeInfo;

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
        // One request per day up to a million per second: a period governor can represent.
        if !(per_second.is_finite() && (1.0 / 86_400.0..=1e6).contains(&per_second)) || burst == 0 {
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

    /// The portal's bucket: requests that may go at once. The client's limiter keeps
    /// [`headroom`](Self::headroom) of it free.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// How many requests of the bucket the client's limiter leaves unused: one second of the
    /// drain (2 on standard plans, 5 on Enterprise), at most a tenth of the bucket. The portal
    /// counts a request when it arrives, not when it was sent; this much room lets requests
    /// that arrive up to a second closer together than they were sent (a slow network path,
    /// a busy portal reading a large batch body) still fit, in the burst and at the drain
    /// rate alike.
    ///
    /// ```
    /// use bitrix24::RateLimit;
    /// assert_eq!(RateLimit::standard().headroom(), 2);
    /// assert_eq!(RateLimit::enterprise().headroom(), 5);
    /// assert_eq!(RateLimit::custom(10.0, 5).unwrap().headroom(), 0);
    /// ```
    pub fn headroom(&self) -> u32 {
        // The rate is at most 1e6/s, so the cast cannot wrap.
        let second = self.per_second.ceil() as u32;
        second.min(self.burst / 10)
    }

    fn quota(self) -> Quota {
        // The constructors keep the rate within 1/day..1e6/s and the burst above zero, so the
        // fallbacks below are never taken; they only avoid a panic path.
        let period = Duration::from_secs_f64(1.0 / self.per_second);
        let burst = NonZeroU32::new(self.burst - self.headroom()).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst)
    }
}

type Bucket = Gcra<
    String,
    DashMapStateStore<String>,
    GovernorClock,
    governor::middleware::NoOpMiddleware<governor::nanos::Nanos>,
>;

/// A token bucket keyed by portal, shared by every clone of a client, by every client of the
/// same portal and quota built without a limiter of its own ([`RateLimiter::shared`]), and by
/// the clients it is given to.
#[derive(Clone)]
pub struct RateLimiter {
    state: Arc<State>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limit", &self.state.limit)
            .finish_non_exhaustive()
    }
}

struct State {
    bucket: Bucket,
    /// Per portal: no request before this instant (set when the portal said
    /// `QUERY_LIMIT_EXCEEDED`, so every caller slows down, not only the rejected one).
    paused: Mutex<HashMap<String, tokio::time::Instant>>,
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
            state: Arc::new(State {
                bucket: Gcra::dashmap_with_clock(limit.quota(), gclock.clone()),
                paused: Mutex::new(HashMap::new()),
                clock: gclock,
                sleeper: clock,
                limit,
            }),
        }
    }

    /// The limiter of the portal at `address` (its origin, such as
    /// `https://example.bitrix24.com`) with this quota, on the default clock: one per address
    /// and quota in the process while a client holds it, so that every client built for that
    /// portal with [`ClientBuilder::rate_limit`](crate::ClientBuilder::rate_limit) and no limiter
    /// of its own draws on one budget.
    ///
    /// ```
    /// use bitrix24::{RateLimit, RateLimiter};
    /// let a = RateLimiter::shared("https://example.bitrix24.com", RateLimit::standard());
    /// let b = RateLimiter::shared("https://EXAMPLE.bitrix24.com", RateLimit::standard());
    /// assert!(a.same_budget(&b));
    /// let other = RateLimiter::shared("https://other.bitrix24.com", RateLimit::standard());
    /// assert!(!a.same_budget(&other));
    /// ```
    pub fn shared(address: &str, limit: RateLimit) -> Self {
        type Registry = Mutex<HashMap<(String, u64, u32), Weak<State>>>;
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        let key = (
            address.to_ascii_lowercase(),
            limit.per_second.to_bits(),
            limit.burst,
        );
        let registry = REGISTRY.get_or_init(Registry::default);
        let Ok(mut map) = registry.lock() else {
            return Self::new(limit);
        };
        if let Some(state) = map.get(&key).and_then(Weak::upgrade) {
            return RateLimiter { state };
        }
        // Entries whose clients are all gone go with the next new one.
        map.retain(|_, state| state.strong_count() > 0);
        let limiter = Self::new(limit);
        map.insert(key, Arc::downgrade(&limiter.state));
        limiter
    }

    /// Whether both handles draw on the same budget.
    pub fn same_budget(&self, other: &RateLimiter) -> bool {
        Arc::ptr_eq(&self.state, &other.state)
    }

    /// The quota.
    pub fn limit(&self) -> RateLimit {
        self.state.limit
    }

    /// How many requests a bulk operation (a batch of many requests, a parallel walk) keeps in
    /// flight: the bucket less the headroom, so that the burst goes out at once and the limiter
    /// paces the rest at exactly the drain rate, while no more requests wait on it than the
    /// burst.
    pub(crate) fn in_flight(&self) -> usize {
        let limit = self.state.limit;
        (limit.burst - limit.headroom()).max(1) as usize
    }

    /// Holds every request to `portal` for `pause` (the portal rejected one for the rate).
    pub fn pause(&self, portal: &str, pause: Duration) {
        let s = &self.state;
        let until = s.sleeper.now() + pause;
        if let Ok(mut map) = s.paused.lock() {
            let slot = map.entry(portal.to_owned()).or_insert(until);
            *slot = (*slot).max(until);
        }
    }

    /// Waits until a request to `portal` may be sent, and takes the permit.
    pub async fn acquire(&self, portal: &str) {
        let key = portal.to_owned();
        let s = &self.state;
        loop {
            let paused = s
                .paused
                .lock()
                .ok()
                .and_then(|m| m.get(&key).copied())
                .filter(|until| *until > s.sleeper.now());
            if let Some(until) = paused {
                s.sleeper
                    .sleep(until.saturating_duration_since(s.sleeper.now()))
                    .await;
                continue;
            }
            match s.bucket.check_key(&key) {
                Ok(()) => return,
                Err(not_until) => {
                    let wait = s.clock.until(not_until.earliest_possible());
                    // A little jitter so that waiters do not wake in lockstep; the permit is
                    // still checked atomically when they wake.
                    let jitter = Duration::from_micros(fastrand::u64(0..2_000));
                    s.sleeper.sleep(wait + jitter).await;
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
    /// `reset_at` is the client's own probe time, not a reset the portal reported.
    probe: bool,
    blocked: bool,
}

/// When the window is unknown after a block, the client probes again after this long (the
/// window moves by one-minute buckets).
const PROBE_AFTER_BLOCK_SECS: f64 = 60.0;

/// Operating time per method, as last reported by the portal. Reset times are kept on the
/// local clock (the portal's `operating_reset_at` shifted by the portal's own `time.finish`),
/// so a skewed clock on either side does not move them.
#[derive(Debug, Default)]
pub(crate) struct OperatingTracker {
    usage: Mutex<HashMap<String, Usage>>,
}

impl OperatingTracker {
    /// Records a response's `time` block for `method`; `now` is local unix time.
    ///
    /// A block without `operating_reset_at` (a batch command's `result_time` has none) keeps
    /// the reset an earlier answer reported, while it lies ahead; otherwise the method gets a
    /// probe time a minute from `now`, as after a block, so that a method over the limit is
    /// tried again rather than refused for the client's lifetime.
    pub fn record(&self, method: &str, time: &TimeInfo, now: f64) {
        let Some(operating) = time.operating.filter(|o| o.is_finite() && *o >= 0.0) else {
            return;
        };
        let server_now = time.finish.or(time.start).filter(|t| t.is_finite());
        let reported = time
            .operating_reset_at
            .filter(|r| r.is_finite())
            .map(|reset| match server_now {
                Some(server) => now + (reset - server).clamp(0.0, 600.0),
                None => reset,
            });
        let Ok(mut map) = self.usage.lock() else {
            return;
        };
        let key = method.to_ascii_lowercase();
        let (reset_at, probe) = match reported {
            Some(reset) => (reset, false),
            None => map
                .get(&key)
                .filter(|u| !u.probe)
                .and_then(|u| u.reset_at)
                .filter(|r| *r > now)
                .map_or((now + PROBE_AFTER_BLOCK_SECS, true), |r| (r, false)),
        };
        map.insert(
            key,
            Usage {
                operating,
                reset_at: Some(reset_at),
                probe,
                blocked: false,
            },
        );
    }

    /// Marks `method` blocked (the portal answered `OPERATION_TIME_LIMIT`) and returns when to
    /// try again: the known reset time, or a probe a minute from `now`.
    pub fn block(&self, method: &str, now: f64) -> f64 {
        let Ok(mut map) = self.usage.lock() else {
            return now + PROBE_AFTER_BLOCK_SECS;
        };
        let entry = map.entry(method.to_ascii_lowercase()).or_insert(Usage {
            operating: f64::INFINITY,
            reset_at: None,
            probe: true,
            blocked: true,
        });
        entry.blocked = true;
        let known = entry.reset_at.filter(|r| *r > now);
        entry.probe |= known.is_none();
        let reset = known.unwrap_or(now + PROBE_AFTER_BLOCK_SECS);
        entry.reset_at = Some(reset);
        reset
    }

    /// The operating seconds last reported for `method`.
    pub fn operating(&self, method: &str) -> Option<f64> {
        let map = self.usage.lock().ok()?;
        map.get(&method.to_ascii_lowercase()).map(|u| u.operating)
    }

    /// Decides whether `method` may be called at local unix time `now`. `waited` says whether
    /// this call already waited once for a method that is near, but not over, its limit.
    pub fn gate(&self, method: &str, now: f64, policy: &OperatingPolicy, waited: bool) -> Gate {
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
        let over = usage.blocked || usage.operating >= policy.limit_secs;
        let near = usage.operating >= policy.limit_secs * policy.slow_down_at;
        match (over, near, usage.reset_at) {
            // Over the limit: the portal would answer 429 until the window moves.
            (true, _, Some(reset)) => {
                let wait = secs(reset - now);
                if wait <= policy.max_wait {
                    Gate::Wait(wait)
                } else {
                    Gate::Blocked(Some(reset))
                }
            }
            (true, _, None) => Gate::Blocked(None),
            // Near the limit: slow down once per call (up to `max_wait`), then let it go. A
            // probe time is only a guess at the window: it does not slow calls down.
            (false, true, Some(reset)) if !waited && !usage.probe => {
                Gate::Wait(secs(reset - now).min(policy.max_wait))
            }
            _ => Gate::Go,
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
    fn gate_slows_down_near_and_blocks_over_the_limit() {
        let t = OperatingTracker::default();
        let p = OperatingPolicy::default();
        let wait = |secs| Gate::Wait(Duration::from_secs(secs));
        // Seconds used, recorded at 900 s with the reset at 1,000 s (no server time in the
        // block: the reset is taken as given); then (method, now, waited already, gate).
        let steps = vec![
            (100.0, vec![("crm.deal.list", 900.0, false, Gate::Go)]),
            // Near the limit (80 % of 480 s): wait once, at most max_wait, then go.
            (
                400.0,
                vec![
                    ("CRM.DEAL.LIST", 990.0, false, wait(10)),
                    ("crm.deal.list", 900.0, false, wait(60)),
                    ("crm.deal.list", 900.0, true, Gate::Go),
                ],
            ),
            // Over the limit: wait when the reset is close, refuse when it is far.
            (
                490.0,
                vec![
                    ("crm.deal.list", 990.0, true, wait(10)),
                    ("crm.deal.list", 900.0, true, Gate::Blocked(Some(1_000.0))),
                    ("crm.deal.list", 1_000.0, false, Gate::Go),
                    ("crm.lead.list", 0.0, false, Gate::Go),
                ],
            ),
        ];
        for (used, checks) in steps {
            t.record("crm.deal.list", &time(used, 1_000.0), 900.0);
            for (method, now, waited, want) in checks {
                assert_eq!(
                    t.gate(method, now, &p, waited),
                    want,
                    "{used} s used: {method} at {now}, waited {waited}"
                );
            }
        }
    }

    #[test]
    fn reset_times_move_to_the_local_clock() {
        let t = OperatingTracker::default();
        let p = OperatingPolicy::default().slow_down_at(0.0);
        // The portal's clock is 1,000 s ahead of ours: its reset is 30 s after its finish.
        let block = TimeInfo {
            finish: Some(11_000.0),
            ..time(1.0, 11_030.0)
        };
        t.record("m", &block, 10_000.0);
        assert_eq!(
            t.gate("m", 10_000.0, &p, false),
            Gate::Wait(Duration::from_secs(30))
        );
    }

    #[test]
    fn a_block_without_reset_is_probed_again_after_a_minute() {
        let t = OperatingTracker::default();
        let p = OperatingPolicy::default();
        assert!((t.block("x", 100.0) - 160.0).abs() < 1e-9);
        assert_eq!(
            t.gate("x", 100.0, &p, false),
            Gate::Wait(Duration::from_secs(60))
        );
        assert_eq!(
            t.gate("x", 160.0, &p, false),
            Gate::Go,
            "never locked for good"
        );
    }

    /// A batch's `result_time` carries `operating` but no `operating_reset_at`: a method over
    /// the limit in such a block is probed again after a minute, like [`OperatingTracker::block`]
    /// does, and never refused for the client's lifetime.
    #[test]
    fn a_time_block_without_reset_is_probed_again_after_a_minute() {
        let t = OperatingTracker::default();
        let p = OperatingPolicy::default();
        let batch_time = TimeInfo {
            start: Some(1_724_916_859.0),
            finish: Some(1_724_916_859.5),
            operating: Some(500.0),
            ..TimeInfo::default()
        };
        t.record("crm.deal.get", &batch_time, 100.0);
        assert_eq!(
            t.gate("crm.deal.get", 100.0, &p, false),
            Gate::Wait(Duration::from_secs(60)),
            "over the limit, reset unknown: wait for the probe"
        );
        let short = OperatingPolicy::default().max_wait(Duration::from_secs(5));
        assert_eq!(
            t.gate("crm.deal.get", 100.0, &short, false),
            Gate::Blocked(Some(160.0)),
            "refused with a probe time, not for good"
        );
        assert_eq!(
            t.gate("crm.deal.get", 160.0, &p, false),
            Gate::Go,
            "never locked for good"
        );
        // Near (not over) the limit with no reset: the guess does not slow calls down.
        t.record(
            "crm.deal.get",
            &TimeInfo {
                operating: Some(400.0),
                ..batch_time
            },
            200.0,
        );
        assert_eq!(t.gate("crm.deal.get", 200.0, &p, false), Gate::Go);
    }

    /// A known reset from an earlier answer outlives a later block that has none.
    #[test]
    fn a_known_reset_is_kept_when_a_later_block_has_none() {
        let t = OperatingTracker::default();
        let p = OperatingPolicy::default().max_wait(Duration::from_secs(600));
        t.record("m", &time(300.0, 1_200.0), 1_000.0);
        let no_reset = TimeInfo {
            operating: Some(500.0),
            ..TimeInfo::default()
        };
        t.record("m", &no_reset, 1_010.0);
        assert_eq!(
            t.gate("m", 1_010.0, &p, false),
            Gate::Wait(Duration::from_secs(190))
        );
        assert_eq!(t.operating("m"), Some(500.0));
    }

    #[test]
    fn absurd_values_never_panic() {
        let t = OperatingTracker::default();
        let p = OperatingPolicy::default();
        for v in [f64::INFINITY, f64::NAN, 1e300, -1e300] {
            t.record("m", &time(v, v), 0.0);
            let _ = t.gate("m", 0.0, &p, false);
            t.record("m", &time(500.0, v), 0.0);
            let _ = t.gate("m", 0.0, &p, false);
        }
        assert!(RateLimit::custom(1e10, 1).is_err());
        assert!(RateLimit::custom(1e-9, 1).is_err());
    }
}
