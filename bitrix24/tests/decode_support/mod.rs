//! The helper the boards, collab, content and services value tests share.

/// Decodes a JSON value into a spec type, panicking with serde's message when it does not.
pub fn decode<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("decodes")
}
