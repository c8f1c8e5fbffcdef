//! Integration tests of the client: canned wire sequences and the local emulator.

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
mod review;
mod safety;
mod shared_budget;
mod support;
mod typed;
mod typed_api;
mod wire;
