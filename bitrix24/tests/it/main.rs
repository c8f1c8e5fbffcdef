//! Integration tests of the client: canned wire sequences and the local emulator.

/// The answer of a typed call that must succeed (`rest_v3_hr`, `rest_v3_mail`).
macro_rules! sent {
    ($c:expr, $m:expr) => {
        $c.send(&$m).await.unwrap()
    };
}

mod api;
mod batching;
mod canned;
mod hygiene;
mod idempotency_spec;
mod idempotency_v3;
mod not_found;
mod operating;
mod paging;
mod parallel_keyset;
mod portal;
mod progress;
mod rest_v3;
mod rest_v3_hr;
mod rest_v3_mail;
mod rest_v3_note;
mod rest_v3_tasks;
mod review;
mod safety;
mod shared_budget;
mod support;
mod typed;
mod typed_api;
mod wire;
