//! The client-side bucket on paused tokio time: concurrent callers can never exceed the
//! portal's leaky bucket, whatever their number.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitrix24::{RateLimit, RateLimiter};
use tokio::time::Instant;

/// Replays permit times through the portal's leaky bucket (each request adds 1, the level
/// drains at `rate`/s) and returns the highest level reached.
fn peak_level(times: &[Instant], rate: f64) -> f64 {
    let mut level: f64 = 0.0;
    let mut peak: f64 = 0.0;
    let mut last = times[0];
    for &t in times {
        let drained = t.duration_since(last).as_secs_f64() * rate;
        level = (level - drained).max(0.0) + 1.0;
        peak = peak.max(level);
        last = t;
    }
    peak
}

async fn run_callers(limit: RateLimit, callers: usize) -> Vec<Instant> {
    let limiter = RateLimiter::new(limit);
    let times = Arc::new(Mutex::new(Vec::with_capacity(callers)));
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let limiter = limiter.clone();
        let times = times.clone();
        tasks.push(tokio::spawn(async move {
            limiter.acquire("portal.example").await;
            times.lock().unwrap().push(Instant::now());
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut times = times.lock().unwrap().clone();
    times.sort();
    times
}

#[tokio::test(start_paused = true)]
async fn hundred_callers_after_the_burst_never_exceed_the_bucket() {
    let start = Instant::now();
    let times = run_callers(RateLimit::standard(), 150).await;
    assert_eq!(times.len(), 150);
    // The burst goes at once...
    let at_once = times
        .iter()
        .filter(|t| t.duration_since(start) < Duration::from_millis(5))
        .count();
    assert_eq!(
        at_once, 48,
        "the burst of 50 less 2 of headroom goes immediately"
    );
    // ...the other 102 at 2/s: the last one about 51 s later, not earlier.
    let span = times[149].duration_since(start).as_secs_f64();
    assert!(
        (50.0..53.0).contains(&span),
        "102 callers after the burst took {span} s"
    );
    // And the portal's bucket never overflows, with 2 requests (1 s of drain) to spare.
    let peak = peak_level(&times, 2.0);
    assert!(peak <= 48.0 + 1e-6, "leaky-bucket level reached {peak}");
}

#[tokio::test(start_paused = true)]
async fn enterprise_quota_and_keys_are_separate() {
    let limiter = RateLimiter::new(RateLimit::enterprise());
    let start = Instant::now();
    // The bucket of 250 less 5 of headroom.
    for _ in 0..245 {
        limiter.acquire("a.example").await;
    }
    // Another portal has its own bucket.
    limiter.acquire("b.example").await;
    assert!(start.elapsed() < Duration::from_millis(10));
    // The next request to the first portal waits about 1/5 s.
    limiter.acquire("a.example").await;
    let waited = start.elapsed().as_secs_f64();
    assert!((0.19..0.25).contains(&waited), "waited {waited} s");
}

#[tokio::test(start_paused = true)]
async fn custom_quota_paces_requests() {
    let times = run_callers(RateLimit::custom(10.0, 5).unwrap(), 25).await;
    let peak = peak_level(&times, 10.0);
    assert!(peak <= 5.0 + 1e-6, "peak {peak}");
    let span = times[24].duration_since(times[0]).as_secs_f64();
    assert!(
        (1.9..2.2).contains(&span),
        "20 requests after a burst of 5 at 10/s took {span} s"
    );
}

#[tokio::test(start_paused = true)]
async fn a_pause_holds_every_caller_of_the_portal() {
    let limiter = RateLimiter::new(RateLimit::standard());
    let start = Instant::now();
    limiter.pause("a.example", Duration::from_secs(3));
    limiter.acquire("b.example").await;
    assert!(
        start.elapsed() < Duration::from_millis(10),
        "other portals are not held"
    );
    limiter.acquire("a.example").await;
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "held until the pause ends"
    );
}
