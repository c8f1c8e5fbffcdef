//! The claim of an idempotency key, one rule for every store that keeps them (the policy's
//! file, memory and SQLite stores, the events' memory and SQLite stores).
//!
//! A key is claimed before its work runs and settled after: `done` with the result, or
//! `unknown` when the work may have been applied but its answer was lost. A claim is held
//! for a lease: a holder that dies leaves its claim `in_progress`, and another caller takes
//! it over only once the lease has run out. The stores apply [`decide`] and write the claim
//! in one step under their lock (one `BEGIN IMMEDIATE` transaction in SQLite), so of two
//! concurrent callers exactly one gets [`Verdict::Proceed`].

/// Where a claimed key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimStatus {
    /// Claimed; the work is running (or its holder died, until the lease runs out).
    InProgress,
    /// The work succeeded; its result is stored.
    Done,
    /// The work may have been applied, its answer was lost: kept until cleared.
    Unknown,
}

// Stored by name in the policy's JSON file and in SQLite, not in the events' memory store.
#[cfg(any(feature = "policy", feature = "sqlite"))]
impl ClaimStatus {
    /// The stored name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::InProgress => "in_progress",
            ClaimStatus::Done => "done",
            ClaimStatus::Unknown => "unknown",
        }
    }

    /// The status of a stored name; `None` for anything else.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "in_progress" => Some(ClaimStatus::InProgress),
            "done" => Some(ClaimStatus::Done),
            "unknown" => Some(ClaimStatus::Unknown),
            _ => None,
        }
    }
}

/// One stored claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimRecord {
    /// Where it stands.
    pub status: ClaimStatus,
    /// What the work was (a params hash): the same key with another fingerprint is refused.
    pub fingerprint: String,
    /// Unix seconds of the last change (the lease runs from here).
    pub updated_at: u64,
    /// Unix seconds after which the record is forgotten (never for `unknown`).
    pub expires_at: u64,
    /// The result of `done` work (JSON text for the policy).
    pub result: Option<String>,
}

impl ClaimRecord {
    /// A record written at `now`, kept for `ttl` seconds.
    pub(crate) fn new(
        status: ClaimStatus,
        fingerprint: &str,
        result: Option<String>,
        now: u64,
        ttl: u64,
    ) -> Self {
        ClaimRecord {
            status,
            fingerprint: fingerprint.to_owned(),
            updated_at: now,
            expires_at: now.saturating_add(ttl),
            result,
        }
    }

    #[cfg(feature = "events")]
    /// A `done` record with no fingerprint written at `now`, kept until `expires_at` (what
    /// the events' `put` stores).
    pub(crate) fn done_until(result: &str, now: u64, expires_at: u64) -> Self {
        ClaimRecord {
            status: ClaimStatus::Done,
            fingerprint: String::new(),
            updated_at: now,
            expires_at,
            result: Some(result.to_owned()),
        }
    }

    /// Whether the record still counts at `now`: an unknown outcome never expires.
    pub(crate) fn live(&self, now: u64) -> bool {
        self.status == ClaimStatus::Unknown || self.expires_at >= now
    }
}

/// The clock and the durations of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClaimTimes {
    /// Unix seconds now.
    pub now: u64,
    /// How long an `in_progress` claim holds without news from its holder.
    pub lease: u64,
    /// How long a record is kept.
    pub ttl: u64,
}

/// What a claim attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The key is now claimed by the caller: run the work, then settle or release it.
    Proceed,
    /// The work ran before: its stored result.
    Replay(String),
    /// Another holder's lease is running.
    InProgress,
    /// The key was used for other work.
    Reused,
    /// The key's earlier work has an unknown outcome.
    Unknown,
}

/// The verdict for claiming a key whose stored record is `existing`, for work with
/// `fingerprint`. On [`Verdict::Proceed`] the store writes
/// [`ClaimRecord::new`]`(InProgress, ..)` in the same locked step.
pub(crate) fn decide(existing: Option<&ClaimRecord>, fingerprint: &str, t: ClaimTimes) -> Verdict {
    let Some(e) = existing.filter(|e| e.live(t.now)) else {
        return Verdict::Proceed;
    };
    let held = e.updated_at.saturating_add(t.lease) >= t.now;
    if e.fingerprint != fingerprint && (e.status == ClaimStatus::Done || held) {
        return Verdict::Reused;
    }
    match e.status {
        ClaimStatus::Unknown => Verdict::Unknown,
        ClaimStatus::Done => Verdict::Replay(e.result.clone().unwrap_or_else(|| "null".into())),
        ClaimStatus::InProgress if held => Verdict::InProgress,
        ClaimStatus::InProgress => Verdict::Proceed,
    }
}

/// Whether the holder that claimed a key at `claimed_at` still holds it, given the key's
/// record `existing`: not when another caller took the claim over after the lease (or
/// settled it since). `None` (a caller that did not claim the key, such as an operator
/// clearing an unknown outcome) and an absent record always hold.
pub(crate) fn still_held(existing: Option<&ClaimRecord>, claimed_at: Option<u64>) -> bool {
    match (existing, claimed_at) {
        (Some(r), Some(at)) => r.status == ClaimStatus::InProgress && r.updated_at == at,
        _ => true,
    }
}

/// A holder's last word on a key it claimed: store `record`, or forget the key when `None`,
/// if the holder that claimed it at `claimed_at` still holds it ([`still_held`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settlement<'a> {
    /// The key.
    pub(crate) key: &'a str,
    /// What the key now holds (`None`: forget it).
    pub(crate) record: Option<&'a ClaimRecord>,
    /// When this holder claimed it (`None`: a caller that did not claim it).
    pub(crate) claimed_at: Option<u64>,
}

impl Settlement<'_> {
    /// Whether the settlement applies over the key's current record `existing`.
    pub(crate) fn holds(&self, existing: Option<&ClaimRecord>) -> bool {
        still_held(existing, self.claimed_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: ClaimTimes = ClaimTimes {
        now: 1_000,
        lease: 60,
        ttl: 3_600,
    };

    fn rec(status: ClaimStatus, fp: &str, updated_at: u64) -> ClaimRecord {
        let mut r = ClaimRecord::new(status, fp, Some("7".into()), updated_at, 3_600);
        r.updated_at = updated_at;
        r
    }

    #[test]
    fn verdicts() {
        use ClaimStatus::*;
        assert_eq!(decide(None, "a", T), Verdict::Proceed);
        assert_eq!(
            decide(Some(&rec(InProgress, "a", 990)), "a", T),
            Verdict::InProgress
        );
        // A dead holder's claim is taken over only after its lease.
        assert_eq!(
            decide(Some(&rec(InProgress, "a", 939)), "a", T),
            Verdict::Proceed
        );
        assert_eq!(
            decide(Some(&rec(InProgress, "b", 990)), "a", T),
            Verdict::Reused
        );
        assert_eq!(
            decide(Some(&rec(Done, "a", 10)), "a", T),
            Verdict::Replay("7".into())
        );
        assert_eq!(decide(Some(&rec(Done, "b", 10)), "a", T), Verdict::Reused);
        let mut old = rec(Unknown, "a", 0);
        old.expires_at = 1;
        assert_eq!(decide(Some(&old), "a", T), Verdict::Unknown);
        let mut gone = rec(Done, "a", 0);
        gone.expires_at = 999;
        assert_eq!(decide(Some(&gone), "b", T), Verdict::Proceed);
    }

    #[test]
    fn a_taken_over_claim_is_no_longer_held() {
        let mine = ClaimRecord::new(ClaimStatus::InProgress, "a", None, 100, 3_600);
        assert!(still_held(Some(&mine), Some(100)));
        assert!(still_held(None, Some(100)));
        assert!(still_held(Some(&mine), None));
        let theirs = ClaimRecord::new(ClaimStatus::InProgress, "a", None, 700, 3_600);
        assert!(!still_held(Some(&theirs), Some(100)));
        let done = ClaimRecord::new(ClaimStatus::Done, "a", None, 100, 3_600);
        assert!(!still_held(Some(&done), Some(100)));
    }

    #[cfg(any(feature = "policy", feature = "sqlite"))]
    #[test]
    fn status_names_round_trip() {
        for s in [
            ClaimStatus::InProgress,
            ClaimStatus::Done,
            ClaimStatus::Unknown,
        ] {
            assert_eq!(ClaimStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ClaimStatus::parse("x"), None);
    }
}
