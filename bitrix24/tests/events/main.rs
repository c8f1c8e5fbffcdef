//! Events, install, the SQLite stores and the offline worker against the emulator
//! (features `axum` and `sqlite`).
#![cfg(all(feature = "axum", feature = "sqlite"))]

mod crash;
mod install;
mod online;
mod refresh;
mod replay;
mod support;
mod tenants;
mod worker;
