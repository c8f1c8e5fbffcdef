#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
pub mod batch;
mod body;
pub mod client;
pub mod clock;
pub mod endpoint;
pub mod envelope;
pub mod error;
mod idempotency;
pub mod limiter;
pub mod method;
pub mod methods;
pub mod pagination;
mod php_query;
mod refresh;
pub mod retry;
pub mod secret;
pub mod token_store;
pub mod types;

pub use auth::{FileTokenStore, MemoryTokenStore, OAuthApp, OAuthTokens, TokenStore, Webhook};
pub use batch::{Batch, BatchHandle, BatchRef, BatchResults};
pub use client::{ApiVersion, Client, ClientBuilder};
pub use envelope::{Response, TimeInfo};
pub use error::{ApiError, AuthError, Error, ErrorCode, ErrorKind, RawAnswer, Result};
pub use limiter::{OperatingPolicy, RateLimit, RateLimiter};
pub use method::{Keyset, ListMethod, Method, Risk};
pub use pagination::Strategy;
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use types::{Date, DateTime, Decimal};

// --- codegen-owned modules (bitrix24-codegen helper edits only between these markers) ---
mod generated;
pub mod lenient;
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use bitrix24_macros::*;
#[doc(hidden)]
pub use generated::__private;
pub use generated::smart::SmartProcessItem;
pub use generated::{Entity, UserFields, catalog, packs, smart};
// --- end codegen-owned modules ---
