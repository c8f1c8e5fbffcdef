//! The public configuration types: the request-rate limit and seeded fault injection.

use std::collections::BTreeMap;
use std::time::Duration;

/// The request-rate limit (leaky bucket per portal).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Limits {
    /// No request-rate limit (the default).
    #[default]
    Off,
    /// Standard plans: drains 2 requests/s, bucket of 50.
    Standard,
    /// Enterprise: drains 5 requests/s, bucket of 250.
    Enterprise,
    /// Custom figures.
    Custom {
        /// Requests drained per (virtual) second.
        drain_per_sec: f64,
        /// Bucket size.
        burst: u32,
    },
}

impl Limits {
    /// Parses `off`, `standard`, `enterprise` or `custom:<drain>:<burst>`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "off" | "none" => Some(Self::Off),
            "standard" => Some(Self::Standard),
            "enterprise" => Some(Self::Enterprise),
            other => {
                let mut it = other.strip_prefix("custom:")?.split(':');
                let drain_per_sec = it.next()?.parse().ok()?;
                let burst = it.next()?.parse().ok()?;
                Some(Self::Custom {
                    drain_per_sec,
                    burst,
                })
            }
        }
    }
}

/// Seeded, deterministic fault injection for `/rest/...` requests.
///
/// Each request draws from one seeded generator in a fixed order, so a given seed and request
/// sequence always yields the same faults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Added to every request before it is handled.
    pub latency: Duration,
    /// Share of requests answered `500 INTERNAL_SERVER_ERROR` without running the method.
    pub error_5xx_ratio: f64,
    /// Share of requests whose connection is closed before anything is done or sent.
    pub drop_connection_ratio: f64,
    /// Share of responses cut in the middle of the body (the method did run).
    pub truncate_body_ratio: f64,
    /// Share of requests that are applied, then the connection is closed without a response.
    pub lose_response_after_write_ratio: f64,
    /// Seed of the fault generator.
    pub seed: u64,
    /// Synthetic processing time added per method (lower-case name, or `"*"` for every method);
    /// it counts toward `time.processing` and the operating-time limit.
    pub method_processing: BTreeMap<String, Duration>,
}
