//! The per-method operating-time limit as a batch reports it: `result_time` carries
//! `operating` but no `operating_reset_at` (protocol v2.md §5), so the client must pick its
//! own probe time instead of refusing the method for the rest of its life.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bitrix24::clock::Clock;
// the operating limit of one legacy read, counted per method name
#[allow(deprecated)]
use bitrix24::packs::core::CrmDealGet;
use bitrix24::{Client, Error, OperatingPolicy};

use crate::canned::{Canned, json};
use crate::support::fast_retry;

/// A clock the test moves by hand; the client's own sleeps move it too (and return at once).
#[derive(Debug)]
struct ManualClock {
    origin: tokio::time::Instant,
    unix0: f64,
    elapsed_ms: AtomicU64,
}

impl ManualClock {
    fn new() -> Arc<Self> {
        Arc::new(ManualClock {
            origin: tokio::time::Instant::now(),
            unix0: 1_724_916_859.0,
            elapsed_ms: AtomicU64::new(0),
        })
    }

    fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.elapsed_ms.fetch_add(ms, Ordering::SeqCst);
    }

    fn elapsed(&self) -> Duration {
        Duration::from_millis(self.elapsed_ms.load(Ordering::SeqCst))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> tokio::time::Instant {
        self.origin + self.elapsed()
    }

    fn unix_now(&self) -> f64 {
        self.unix0 + self.elapsed().as_secs_f64()
    }

    fn sleep(&self, duration: Duration) -> tokio::time::Sleep {
        self.advance(duration);
        tokio::time::sleep(Duration::ZERO)
    }
}

/// A batch answer whose `c0` (`crm.deal.get`) used 500 s of the 480 s limit; its
/// `result_time` has no `operating_reset_at`, as in the documented batch answer.
const OVER_THE_LIMIT: &str = r#"{"result":{"result":{"c0":{"ID":"1"}},"result_error":[],"result_total":[],"result_next":[],"result_time":{"c0":{"start":1724916859.46156,"finish":1724916860.1,"duration":0.64,"processing":0.6,"date_start":"2024-08-29T10:34:19+03:00","date_finish":"2024-08-29T10:34:20+03:00","operating":500}}},"time":{"start":1724916859.4,"finish":1724916860.2}}"#;

const DEAL: &str = r#"{"result":{"ID":"1"},"time":{"start":1724916920.0,"finish":1724916920.1,"operating":0,"operating_reset_at":1724917520}}"#;

fn client(server: &Canned, clock: Arc<ManualClock>, policy: OperatingPolicy) -> Client {
    Client::builder()
        .webhook(&server.webhook())
        .no_rate_limit()
        .retry(fast_retry())
        .clock(clock)
        .operating_policy(policy)
        .build()
        .unwrap()
}

// the reason is on the imports
#[allow(deprecated)]
async fn over_the_limit_by_batch(c: &Client) {
    let mut batch = c.batch();
    let deal = batch.add(&CrmDealGet::new(1)).unwrap();
    let results = batch.send().await.unwrap();
    assert_eq!(results.get(&deal).unwrap().id, Some(1));
    assert_eq!(c.operating_time("crm.deal.get"), Some(500.0));
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn a_method_over_the_limit_by_a_batch_report_is_probed_again_not_blocked_for_good() {
    let server = Canned::start(vec![json(200, OVER_THE_LIMIT), json(200, DEAL)]).await;
    let clock = ManualClock::new();
    let c = client(&server, clock.clone(), OperatingPolicy::default());
    over_the_limit_by_batch(&c).await;
    let before = clock.elapsed();
    let deal = tokio::time::timeout(Duration::from_secs(10), c.send(&CrmDealGet::new(1)))
        .await
        .expect("the call never hangs")
        .expect("the method is probed again once the probe time has come");
    assert_eq!(deal.id, Some(1));
    let waited = clock.elapsed().saturating_sub(before);
    assert!(
        (Duration::from_secs(59)..=Duration::from_secs(61)).contains(&waited),
        "waited {waited:?} for the probe (the window moves by one-minute buckets)"
    );
    assert_eq!(server.seen().len(), 2);
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn a_refusal_names_the_probe_time_and_lifts_once_it_has_come() {
    let server = Canned::start(vec![json(200, OVER_THE_LIMIT), json(200, DEAL)]).await;
    let clock = ManualClock::new();
    let c = client(
        &server,
        clock.clone(),
        OperatingPolicy::default().max_wait(Duration::ZERO),
    );
    over_the_limit_by_batch(&c).await;
    let err = c.send(&CrmDealGet::new(1)).await.unwrap_err();
    let Error::OperatingLimit { method, reset_at } = &err else {
        panic!("{err}");
    };
    assert_eq!(method, "crm.deal.get");
    let reset = reset_at
        .expect("a refusal names when to try again")
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let probe_in = reset - (1_724_916_859.0 + clock.elapsed().as_secs_f64());
    assert!((59.0..=61.0).contains(&probe_in), "probe in {probe_in} s");
    assert_eq!(server.seen().len(), 1, "refused before sending");
    clock.advance(Duration::from_secs(61));
    let deal = c
        .send(&CrmDealGet::new(1))
        .await
        .expect("lifted after the probe time");
    assert_eq!(deal.id, Some(1));
}
