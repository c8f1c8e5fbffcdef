//! Retry policy: which failures are sent again, how often, and how long to wait.
//!
//! - `QUERY_LIMIT_EXCEEDED`: the portal rejected the call without executing it, so it is
//!   re-sent for reads and writes alike, with exponential backoff and jitter.
//! - A connection that could not be opened: nothing was sent; re-sent for every method.
//! - Timeouts, dropped connections, cut bodies and 5xx answers: re-sent only for idempotent
//!   methods and for REST 3.0 writes that carry an `Idempotency-Key` (the re-send, with the
//!   same key, is answered from the portal's store if the first one ran); any other write gets
//!   [`crate::Error::OutcomeUnknown`] (or the 5xx error) instead, and so does a keyed write
//!   that runs out of attempts.

use std::time::Duration;

use crate::error::{AuthError, Error, ErrorCode, RawAnswer};

/// How many times and how patiently the client retries.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all (the first one included) for one call.
    pub max_attempts: u32,
    /// The first backoff.
    pub base_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(16),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Sets the number of attempts (at least 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the first backoff.
    #[must_use]
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// Sets the longest backoff.
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The wait before attempt `attempt + 1` (`attempt` starts at 1): exponential, capped, with
    /// "equal jitter" (half fixed, half random) so retries spread out.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        let half = capped / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// What the client knows about the attempt whose failure it classifies.
#[derive(Debug, Clone, Copy)]
#[allow(clippy::struct_excessive_bools)] // independent facts, not a state machine
pub(crate) struct Attempt {
    /// 1 for the first send.
    pub number: u32,
    /// Whether sending the call twice has the effect of sending it once (from the spec).
    pub idempotent: bool,
    /// Whether the attempt went to REST 3.0.
    pub v3: bool,
    /// Whether a REST 3.0 "method not found" may fall back to v2 (`ApiVersion::Auto`).
    pub may_fall_back: bool,
    /// Whether the client has OAuth credentials to refresh.
    pub oauth: bool,
    /// Whether this call already refreshed the tokens once.
    pub refreshed: bool,
    /// Whether the attempt carries an `Idempotency-Key` (a REST 3.0 write): sending it again
    /// with the same key cannot apply it twice.
    pub keyed: bool,
}

impl Attempt {
    /// Whether an attempt that may have reached the portal can be sent again.
    fn resendable(&self) -> bool {
        self.idempotent || self.keyed
    }
}

/// What to do after a failed attempt.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Send the call again after the wait.
    Retry(Duration),
    /// The portal's request bucket is full: every caller on the portal pauses for the wait,
    /// then this call is sent again (the portal did not execute it).
    Throttled(Duration),
    /// The operating-time limit blocks the method: record the block and fail.
    Blocked,
    /// Refresh (or reload) the OAuth tokens, then send again.
    Refresh,
    /// The method is not on REST 3.0 here: remember it and send to v2.
    FallbackV2,
    /// Give up with this error.
    Fail(Error),
}

/// What to do after a transport failure.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransportVerdict {
    /// Send the call again after the wait.
    Retry(Duration),
    /// Out of attempts: return the transport error.
    GiveUp,
    /// A write may have reached the portal: return `OutcomeUnknown`, never send it again.
    OutcomeUnknown,
}

impl RetryPolicy {
    /// Classifies a transport failure. `never_sent`: the connection could not be opened.
    pub(crate) fn on_transport(&self, at: &Attempt, never_sent: bool) -> TransportVerdict {
        if (never_sent || at.resendable()) && at.number < self.max_attempts {
            TransportVerdict::Retry(self.backoff(at.number))
        } else if never_sent || at.idempotent {
            TransportVerdict::GiveUp
        } else {
            TransportVerdict::OutcomeUnknown
        }
    }

    /// Classifies an answer that failed to decode into a result: an API error, or a body that
    /// does not fit. `body` is the answer as received.
    pub(crate) fn on_answer(&self, method: &str, at: &Attempt, err: Error, body: &[u8]) -> Verdict {
        let can_retry = at.number < self.max_attempts;
        match &err {
            Error::Api(api) => match &api.code {
                ErrorCode::QueryLimitExceeded if can_retry => {
                    Verdict::Throttled(self.backoff(at.number).max(Duration::from_millis(500)))
                }
                ErrorCode::QueryLimitExceeded => Verdict::Fail(Error::RateLimited {
                    method: method.to_owned(),
                    attempts: at.number,
                }),
                ErrorCode::OperationTimeLimit | ErrorCode::V3RateLimit => Verdict::Blocked,
                // Support blocked REST for the portal or webhook (a 503 that ran nothing): not an
                // unknown outcome, and sending again only meets the block again.
                ErrorCode::OverloadLimit => Verdict::Fail(err),
                ErrorCode::V3MethodNotFound if at.v3 && at.may_fall_back => Verdict::FallbackV2,
                // A token refreshed by another task, or by a process sharing the store, reads
                // as `invalid_token` too: reload from the store, else refresh, then once more.
                ErrorCode::ExpiredToken | ErrorCode::InvalidToken if at.oauth && !at.refreshed => {
                    Verdict::Refresh
                }
                ErrorCode::ExpiredToken if at.oauth => {
                    Verdict::Fail(Error::Auth(AuthError::StillExpiredAfterRefresh))
                }
                // REST 3.0 hides the v2 auth code behind 401 ACCESSDENIEDEXCEPTION: refresh once.
                _ if at.v3 && api.status == 401 && at.oauth && !at.refreshed => Verdict::Refresh,
                _ if api.status >= 500 && at.resendable() && can_retry => {
                    Verdict::Retry(self.backoff(at.number))
                }
                // A write that failed inside the portal may have been partly applied.
                _ if api.status >= 500 && !at.idempotent => Verdict::Fail(Error::outcome_unknown(
                    method,
                    format!("the portal answered HTTP {} {}", api.status, api.code),
                )),
                _ => Verdict::Fail(err),
            },
            // A write answered with success whose result does not fit the type was applied:
            // say so, with the answer, and never send it again.
            Error::Decode { status, path, .. }
                if *status < 300
                    && !at.idempotent
                    && (path == "result"
                        || path.starts_with("result.")
                        || path.starts_with("result["))
                    && !is_truncated(body) =>
            {
                match err {
                    Error::Decode {
                        method,
                        path,
                        message,
                        status,
                    } => Verdict::Fail(Error::AppliedUndecoded {
                        method,
                        status,
                        path,
                        message,
                        raw: RawAnswer::new(body),
                    }),
                    other => Verdict::Fail(other),
                }
            }
            Error::Decode { status, .. } => {
                let status = *status;
                let truncated = is_truncated(body);
                if (status >= 500 || truncated) && at.resendable() && can_retry {
                    Verdict::Retry(self.backoff(at.number))
                } else if (truncated && status < 300 || status >= 500) && !at.idempotent {
                    Verdict::Fail(Error::outcome_unknown(
                        method,
                        format!(
                            "HTTP {status} with an unreadable body ({} bytes)",
                            body.len()
                        ),
                    ))
                } else {
                    Verdict::Fail(err)
                }
            }
            _ => Verdict::Fail(err),
        }
    }
}

/// Whether a body is a JSON document cut short.
pub(crate) fn is_truncated(body: &[u8]) -> bool {
    let trimmed = body.trim_ascii_start();
    (trimmed.first() == Some(&b'{') || trimmed.first() == Some(&b'['))
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err_and(|e| e.is_eof())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::error::ApiError;

    fn api(code: &str, status: u16) -> Error {
        Error::Api(Box::new(ApiError {
            method: "m".into(),
            code: ErrorCode::parse(code),
            description: String::new(),
            status,
            argument: None,
            validation: Vec::new(),
        }))
    }

    fn decode(status: u16, path: &str) -> Error {
        Error::Decode {
            method: "m".into(),
            path: path.into(),
            message: "bad".into(),
            status,
        }
    }

    const READ: Attempt = Attempt {
        number: 1,
        idempotent: true,
        v3: false,
        may_fall_back: true,
        oauth: false,
        refreshed: false,
        keyed: false,
    };
    const WRITE: Attempt = Attempt {
        idempotent: false,
        ..READ
    };
    /// A REST 3.0 write with its `Idempotency-Key`.
    const KEYED: Attempt = Attempt {
        v3: true,
        keyed: true,
        ..WRITE
    };

    /// The verdict's name, for the table.
    fn name(v: &Verdict) -> String {
        match v {
            Verdict::Retry(_) => "retry".into(),
            Verdict::Throttled(_) => "throttled".into(),
            Verdict::Blocked => "blocked".into(),
            Verdict::Refresh => "refresh".into(),
            Verdict::FallbackV2 => "v2".into(),
            Verdict::Fail(e) => match e {
                Error::OutcomeUnknown { .. } => "outcome-unknown".into(),
                Error::AppliedUndecoded { .. } => "applied".into(),
                Error::RateLimited { .. } => "rate-limited".into(),
                Error::Auth(AuthError::StillExpiredAfterRefresh) => "still-expired".into(),
                other => format!("fail:{}", other.code().map_or("decode", ErrorCode::as_str)),
            },
        }
    }

    #[test]
    fn answers_are_classified_by_one_table() {
        let oauth = Attempt {
            oauth: true,
            ..READ
        };
        let attempts = [
            ("read", READ),
            ("write", WRITE),
            ("last", Attempt { number: 6, ..READ }),
            ("oauth", oauth),
            (
                "refreshed",
                Attempt {
                    refreshed: true,
                    ..oauth
                },
            ),
            ("v3", Attempt { v3: true, ..oauth }),
            ("keyed", KEYED),
            ("keyed-last", Attempt { number: 6, ..KEYED }),
            (
                "v3-only",
                Attempt {
                    v3: true,
                    may_fall_back: false,
                    ..oauth
                },
            ),
        ];
        let v3 = |name: &str| format!("BITRIX_REST_V3_EXCEPTION_{name}EXCEPTION");
        // attempt, error code, HTTP status, verdict (`~` stands for `BITRIX_REST_V3_EXCEPTION_`).
        let api_errors = "
            write     QUERY_LIMIT_EXCEEDED     503 throttled
            last      QUERY_LIMIT_EXCEEDED     503 rate-limited
            write     OPERATION_TIME_LIMIT     429 blocked
            write     OVERLOAD_LIMIT           503 fail:OVERLOAD_LIMIT
            read      OVERLOAD_LIMIT           503 fail:OVERLOAD_LIMIT
            v3        ~RATELIMIT               429 blocked
            v3        ~METHODNOTFOUND          404 v2
            v3-only   ~METHODNOTFOUND          404 fail:~METHODNOTFOUND
            oauth     expired_token            401 refresh
            oauth     invalid_token            401 refresh
            refreshed expired_token            401 still-expired
            refreshed invalid_token            401 fail:invalid_token
            read      expired_token            401 fail:expired_token
            v3        ~ACCESSDENIED            401 refresh
            read      INTERNAL_SERVER_ERROR    500 retry
            last      INTERNAL_SERVER_ERROR    500 fail:INTERNAL_SERVER_ERROR
            write     INTERNAL_SERVER_ERROR    500 outcome-unknown
            keyed     INTERNAL_SERVER_ERROR    500 retry
            keyed-last INTERNAL_SERVER_ERROR   500 outcome-unknown
            keyed     ~IDEMPOTENCYKEYREUSED    422 fail:~IDEMPOTENCYKEYREUSED
            keyed     ~INVALIDIDEMPOTENCYKEY   400 fail:~INVALIDIDEMPOTENCYKEY
            write     ERROR_ARGUMENT           400 fail:ERROR_ARGUMENT";
        let mut table: Vec<(Attempt, Error, &[u8], String)> = Vec::new();
        for row in api_errors.lines().filter(|l| !l.trim().is_empty()) {
            let cols: Vec<&str> = row.split_whitespace().collect();
            let [at, code, status, want] = cols[..] else {
                panic!("row {row:?}")
            };
            let full = |s: &str| match s.split_once('~') {
                Some((head, name)) => format!("{head}{}", v3(name)),
                None => s.to_owned(),
            };
            let at = attempts.iter().find(|(n, _)| *n == at).unwrap().1;
            let err = api(&full(code), status.parse().unwrap());
            table.push((at, err, b"", full(want)));
        }
        let cut: &[u8] = br#"{"result":{"ID":"4"#;
        let decode_errors: [(Attempt, Error, &[u8], &str); 11] = [
            (KEYED, decode(200, "."), cut, "retry"),
            (KEYED, decode(502, "."), b"<html>", "retry"),
            (KEYED, decode(200, "result"), br#"{"result":{}}"#, "applied"),
            (WRITE, decode(200, "result"), br#"{"result":{}}"#, "applied"),
            (
                WRITE,
                decode(200, "result.ID"),
                br#"{"result":{"ID":[]}}"#,
                "applied",
            ),
            (
                READ,
                decode(200, "result"),
                br#"{"result":{}}"#,
                "fail:decode",
            ),
            (WRITE, decode(200, "."), cut, "outcome-unknown"),
            (READ, decode(200, "."), cut, "retry"),
            (WRITE, decode(502, "."), b"<html>", "outcome-unknown"),
            (READ, decode(502, "."), b"<html>", "retry"),
            (WRITE, decode(200, "."), b"<html>", "fail:decode"),
        ];
        table.extend(decode_errors.map(|(at, err, body, want)| (at, err, body, want.to_owned())));
        let policy = RetryPolicy::default();
        for (at, err, body, want) in table {
            let shown = err.to_string();
            let got = name(&policy.on_answer("m", &at, err, body));
            assert_eq!(got, want, "{shown} with {at:?}");
        }
    }

    #[test]
    fn transport_failures_are_classified() {
        let policy = RetryPolicy::default();
        let last = Attempt { number: 6, ..READ };
        assert!(matches!(
            policy.on_transport(&READ, false),
            TransportVerdict::Retry(_)
        ));
        assert!(matches!(
            policy.on_transport(&WRITE, true),
            TransportVerdict::Retry(_)
        ));
        assert_eq!(
            policy.on_transport(&WRITE, false),
            TransportVerdict::OutcomeUnknown
        );
        assert_eq!(policy.on_transport(&last, false), TransportVerdict::GiveUp);
        let last_write = Attempt { number: 6, ..WRITE };
        assert_eq!(
            policy.on_transport(&last_write, false),
            TransportVerdict::OutcomeUnknown
        );
        assert_eq!(
            policy.on_transport(&last_write, true),
            TransportVerdict::GiveUp
        );
        assert!(matches!(
            policy.on_transport(&KEYED, false),
            TransportVerdict::Retry(_)
        ));
        let last_keyed = Attempt { number: 6, ..KEYED };
        assert_eq!(
            policy.on_transport(&last_keyed, false),
            TransportVerdict::OutcomeUnknown
        );
    }

    #[test]
    fn truncation_detected() {
        assert!(is_truncated(br#"{"result":{"ID":"4"#));
        assert!(!is_truncated(br#"{"result":1}"#));
        assert!(!is_truncated(b"<html>"));
    }

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy::default();
        for attempt in 1..20 {
            let d = p.backoff(attempt);
            let full = p
                .base_delay
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(p.max_delay);
            assert!(
                d >= full / 2 && d <= full,
                "attempt {attempt}: {d:?} vs {full:?}"
            );
        }
    }
}
