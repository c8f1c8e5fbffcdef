//! Typed async client for the Bitrix24 REST API.
pub mod method;
pub use method::{Keyset, ListMethod, Method, Risk};
