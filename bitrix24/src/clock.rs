//! Time, in one place, so that the limiter, retries and token expiry run on tokio's clock
//! (and so on paused time in tests: `#[tokio::test(start_paused = true)]`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// The client's clock: monotonic time, wall time and sleeping.
///
/// The default, [`TokioClock`], follows tokio's clock, so tests on paused time see the
/// limiter, backoff and token expiry advance without waiting.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Monotonic now.
    fn now(&self) -> Instant;
    /// Unix time in seconds (fractional).
    fn unix_now(&self) -> f64;
    /// Sleeps for `duration`.
    fn sleep(&self, duration: Duration) -> tokio::time::Sleep {
        tokio::time::sleep(duration)
    }
}

/// The default clock: tokio's monotonic clock, with wall time derived from it, so that under
/// paused time the wall clock advances with `tokio::time::advance`.
#[derive(Debug, Clone)]
pub struct TokioClock {
    origin: Instant,
    origin_unix: f64,
}

impl TokioClock {
    /// A clock whose wall time starts at the system time now.
    pub fn new() -> Self {
        let origin_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        TokioClock {
            origin: Instant::now(),
            origin_unix,
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_now(&self) -> f64 {
        self.origin_unix + self.origin.elapsed().as_secs_f64()
    }
}

/// `Duration::from_secs_f64` that never panics: negative, NaN and huge values are clamped.
pub(crate) fn secs(value: f64) -> Duration {
    Duration::try_from_secs_f64(value.clamp(0.0, 1e12)).unwrap_or_default()
}

/// Unix seconds (as the portal reports them) as a `SystemTime`; out-of-range values clamp.
pub(crate) fn unix_to_system(unix: f64) -> SystemTime {
    UNIX_EPOCH.checked_add(secs(unix)).unwrap_or(UNIX_EPOCH)
}

/// Adapts a [`Clock`] to governor's clock interface (nanoseconds since the clock's creation).
#[derive(Debug, Clone)]
pub(crate) struct GovernorClock {
    clock: std::sync::Arc<dyn Clock>,
    origin: Instant,
}

impl GovernorClock {
    pub(crate) fn new(clock: std::sync::Arc<dyn Clock>) -> Self {
        let origin = clock.now();
        GovernorClock { clock, origin }
    }

    /// Converts a governor instant back to a duration from now.
    pub(crate) fn until(&self, at: governor::nanos::Nanos) -> Duration {
        let now = self.clock.now().saturating_duration_since(self.origin);
        Duration::from(at).saturating_sub(now)
    }
}

impl governor::clock::Clock for GovernorClock {
    type Instant = governor::nanos::Nanos;

    fn now(&self) -> Self::Instant {
        governor::nanos::Nanos::from(self.clock.now().saturating_duration_since(self.origin))
    }
}
