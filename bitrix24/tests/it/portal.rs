//! End-to-end against the local emulator: the client and a portal that behaves like Bitrix24.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

// end to end on the legacy crm.deal.* methods the emulator serves
#[allow(deprecated)]
use bitrix24::packs::core::{
    CrmDealAdd, CrmDealDelete, CrmDealGet, CrmDealList, CrmDealUpdate, Deal, EventGet,
    TasksTaskListV2, UserCurrent,
};
use bitrix24::packs::diagnostics::ServerTime;
use bitrix24::{
    AuthError, BatchRef, Client, Error, ErrorCode, MemoryTokenStore, RateLimit, RetryPolicy,
    Strategy,
};
use bitrix24_emulator::{Faults, Limits, RunningEmulator};
use futures::TryStreamExt;
use serde_json::json;

use crate::support::{emulator, emulator_app, hook_client, object, portal, seeded_portal};

/// An emulator whose portal drains `drain_per_sec` requests a second from a bucket of `burst`.
async fn limited_portal(drain_per_sec: f64, burst: u32) -> RunningEmulator {
    emulator()
        .limits(Limits::Custom {
            drain_per_sec,
            burst,
        })
        .start()
        .await
        .unwrap()
}

/// A webhook client of `emu` that tries a call up to `attempts` times, backing off from `base`.
fn retrying_client(emu: &RunningEmulator, attempts: u32, base: Duration) -> Client {
    Client::builder()
        .webhook(&emu.webhook_url())
        .no_rate_limit()
        .retry(
            RetryPolicy::default()
                .max_attempts(attempts)
                .base_delay(base),
        )
        .build()
        .unwrap()
}

/// Sends `n` `server.time` calls at once from separate tasks; every one must succeed.
async fn concurrent_server_time(c: &Client, n: usize) {
    let calls: Vec<_> = (0..n)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.send(&ServerTime::new()).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
}

fn id_of(row: &Deal) -> u64 {
    row.id.expect("every row has an id")
}

/// A deal with this title.
fn titled(title: &str) -> Deal {
    Deal {
        title: Some(title.into()),
        ..Deal::default()
    }
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn deal_crud_roundtrip() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let id = c
        .send(&CrmDealAdd::new(Deal {
            opportunity: Some(1000.into()),
            ..titled("New Deal #1")
        }))
        .await
        .unwrap();
    let deal = c.send(&CrmDealGet::new(id)).await.unwrap();
    assert_eq!(deal.title.as_deref(), Some("New Deal #1"));
    assert_eq!(
        deal.id,
        Some(id),
        "decoded from the string the legacy CRM sends"
    );
    assert!(
        c.send(&CrmDealUpdate::new(id, titled("Renamed")))
            .await
            .unwrap()
    );
    assert_eq!(
        c.send(&CrmDealGet::new(id)).await.unwrap().title.as_deref(),
        Some("Renamed")
    );
    assert!(c.send(&CrmDealDelete::new(id)).await.unwrap());
    let err = c.send(&CrmDealGet::new(id)).await.unwrap_err();
    assert_eq!(
        err.api().map(|a| (a.code.clone(), a.status)),
        Some((ErrorCode::Empty, 400))
    );
    assert_eq!(c.send(&UserCurrent::new()).await.unwrap().id, Some(1));
    assert!(!c.send(&ServerTime::new()).await.unwrap().is_empty());
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn both_strategies_stream_every_row_once() {
    let (_emu, c) = seeded_portal(2_620).await;
    for strategy in [Strategy::Offset, Strategy::Keyset] {
        let rows: Vec<_> = c
            .stream_with(&CrmDealList::new().select(["ID", "TITLE"]), strategy)
            .try_collect()
            .await
            .unwrap();
        let ids: HashSet<u64> = rows.iter().map(id_of).collect();
        assert_eq!(rows.len(), 2_620, "{strategy:?}");
        assert_eq!(ids.len(), 2_620, "{strategy:?}: no repeats");
    }
}

/// Reads `n` rows from a stream (which stays paused afterwards: streams are lazy).
async fn take<S>(stream: &mut S, n: usize) -> Vec<u64>
where
    S: futures::Stream<Item = Result<Deal, Error>> + Unpin,
{
    let mut ids = Vec::with_capacity(n.min(10_000));
    while ids.len() < n {
        match stream.try_next().await.unwrap() {
            Some(row) => ids.push(id_of(&row)),
            None => break,
        }
    }
    ids
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn keyset_skips_and_repeats_nothing_when_pages_shift() {
    let (_emu, c) = seeded_portal(6_000).await;
    let deleted_ahead: Vec<u64> = (3_000..3_010).chain(5_500..5_505).collect();
    // One chain: the rest of the walk is requested only as the rows are read.
    let chain = bitrix24::StreamOptions::new()
        .strategy(Strategy::Keyset)
        .sequential(true);
    let mut stream = c.stream_with_options(&CrmDealList::new().select(["ID"]), chain);
    // The first page is read; the rest of the walk has not been requested yet.
    let mut ids = take(&mut stream, 50).await;
    // Rows behind the cursor and ahead of it disappear, new rows appear at the end.
    for id in (10..20).chain(deleted_ahead.iter().copied().take(10)) {
        assert!(c.send(&CrmDealDelete::new(id)).await.unwrap());
    }
    for i in 0..5 {
        c.send(&CrmDealAdd::new(titled(&format!("late {i}"))))
            .await
            .unwrap();
    }
    ids.extend(take(&mut stream, 2_500).await);
    for &id in &deleted_ahead[10..] {
        assert!(c.send(&CrmDealDelete::new(id)).await.unwrap());
    }
    ids.extend(take(&mut stream, usize::MAX).await);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ascending, hence no repeats"
    );
    let seen: HashSet<u64> = ids.iter().copied().collect();
    for id in 1..=6_000u64 {
        let gone_before_read = deleted_ahead.contains(&id);
        assert_eq!(seen.contains(&id), !gone_before_read, "row {id}");
    }
    assert_eq!(
        ids.len(),
        6_000 - deleted_ahead.len() + 5,
        "the 5 late rows are read too"
    );
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn offset_pages_do_skip_rows_when_earlier_rows_are_deleted() {
    // Why keyset is the default: the same writes make offset pagination lose rows.
    let (_emu, c) = seeded_portal(3_000).await;
    let mut stream = c.stream_with(&CrmDealList::new().select(["ID"]), Strategy::Offset);
    let mut ids = take(&mut stream, 50).await;
    for id in 10..20 {
        assert!(c.send(&CrmDealDelete::new(id)).await.unwrap());
    }
    ids.extend(take(&mut stream, usize::MAX).await);
    let seen: HashSet<u64> = ids.iter().copied().collect();
    let skipped = (51..=3_000u64).filter(|id| !seen.contains(id)).count();
    assert_eq!(
        skipped, 10,
        "every later page shifted by the 10 deleted rows"
    );
}

#[tokio::test]
async fn hundred_callers_on_an_expired_token_make_one_refresh() {
    let emu = portal().await;
    let store = Arc::new(MemoryTokenStore::new());
    let c = emulator_app(&emu, Some(store.clone()));
    c.send(&ServerTime::new()).await.unwrap();
    emu.control().expire_access_tokens();
    let before = emu.control().token_requests();
    concurrent_server_time(&c, 100).await;
    assert_eq!(
        emu.control().token_requests() - before,
        1,
        "exactly one refresh request"
    );
    assert_eq!(c.token_refreshes(), 1);
    assert_eq!(store.saves(), 1, "the rotated pair was persisted once");
}

#[tokio::test]
async fn a_revoked_refresh_token_is_an_auth_error() {
    let emu = portal().await;
    let c = emulator_app(&emu, Some(Arc::new(MemoryTokenStore::new())));
    emu.control().revoke_refresh_tokens();
    emu.control().expire_access_tokens();
    let before = emu.control().token_requests();
    let err = c.send(&ServerTime::new()).await.unwrap_err();
    assert!(
        matches!(err, Error::Auth(AuthError::RefreshRejected { .. })),
        "{err:?}"
    );
    assert_eq!(emu.control().token_requests() - before, 1, "no retry loop");
}

#[tokio::test]
async fn the_limiter_keeps_the_portal_from_rejecting() {
    let emu = limited_portal(20.0, 10).await;
    let c = Client::builder()
        .webhook(&emu.webhook_url())
        .rate_limit(RateLimit::custom(19.0, 9).unwrap())
        // No retries: a single QUERY_LIMIT_EXCEEDED would fail a call.
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    concurrent_server_time(&c, 40).await;
}

#[tokio::test]
async fn without_the_limiter_the_portal_rejects_and_the_client_retries() {
    let emu = limited_portal(50.0, 5).await;
    let c = retrying_client(&emu, 20, Duration::from_millis(20));
    let requests = vec![ServerTime::new(); 30];
    let results = c.send_all(&requests).await.unwrap();
    assert!(results.iter().all(Result::is_ok));
    concurrent_server_time(&c, 30).await;
    // 1 batch + 30 single calls succeeded; the rest were QUERY_LIMIT_EXCEEDED answers retried.
    let requests = emu.control().request_count();
    assert!(
        requests > 31,
        "the portal rejected nothing ({requests} requests): the test proves nothing"
    );
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn batch_against_the_portal() {
    let (_emu, c) = seeded_portal(2_600).await;
    let requests: Vec<CrmDealGet> = (1..=2_600).map(CrmDealGet::new).collect();
    let results = c.send_all(&requests).await.unwrap();
    assert_eq!(results.len(), 2_600);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(id_of(r.as_ref().unwrap()), i as u64 + 1);
    }
    // Linked commands: the deals of the current user.
    let mut batch = c.batch();
    batch.add_named("me", &UserCurrent::new()).unwrap();
    let mine = batch
        .add_linked(
            "mine",
            &CrmDealList::new().select(["ID"]),
            [("filter[ASSIGNED_BY_ID]", BatchRef::result("me").key("ID"))],
        )
        .unwrap();
    let missing = batch
        .add_named("missing", &CrmDealGet::new(999_999))
        .unwrap();
    let out = batch.send().await.unwrap();
    assert!(out.get(&mine).is_ok());
    assert_eq!(out.total(&mine).map(|t| t > 0), Some(true));
    assert_eq!(
        out.get(&missing).unwrap_err().api().unwrap().description,
        "Not found"
    );
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn a_write_whose_response_is_lost_is_outcome_unknown_but_applied() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    emu.control().set_faults(Faults {
        lose_response_after_write_ratio: 1.0,
        ..Faults::default()
    });
    let err = c.send(&CrmDealAdd::new(titled("maybe"))).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    emu.control().set_faults(Faults::default());
    let rows = c
        .list_all(&CrmDealList::new().filter(object(json!({"TITLE": "maybe"}))))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "applied exactly once, never re-sent");
}

#[tokio::test]
async fn reads_ride_through_injected_server_errors() {
    let emu = portal().await;
    let c = retrying_client(&emu, 10, Duration::from_millis(2));
    emu.control().set_faults(Faults {
        error_5xx_ratio: 0.3,
        seed: 7,
        ..Faults::default()
    });
    for _ in 0..20 {
        c.send(&ServerTime::new()).await.unwrap();
    }
}

#[tokio::test]
async fn scopes_and_auth_types_are_enforced() {
    let emu = emulator()
        .webhook_with_scopes(2, "crmonly", &["crm"])
        .start()
        .await
        .unwrap();
    let narrow = hook_client(&format!("{}/rest/2/crmonly/", emu.base_url()));
    let err = narrow.send(&TasksTaskListV2::new()).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InsufficientScope));
    let err = hook_client(&emu.webhook_url())
        .send(&EventGet::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.api().map(|a| (a.code.clone(), a.status)),
        Some((ErrorCode::WrongAuthType, 403))
    );
    let wrong = hook_client(&format!("{}/rest/1/wrongcode/", emu.base_url()));
    let err = wrong.send(&ServerTime::new()).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidCredentials));
    let err = hook_client(&emu.webhook_url())
        .call("no.such.method", json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        err.api().map(|a| (a.code.clone(), a.status)),
        Some((ErrorCode::MethodNotFound, 404))
    );
}
