//! Paths the derive macros of `bitrix24-macros` expand to. Not a public API.

pub use serde;
pub use serde_json;

/// `item_id` for `u64` and `Option<u64>` id fields.
pub trait IntoItemId {
    /// The id, when set.
    fn item_id_of(&self) -> Option<u64>;
}

impl IntoItemId for u64 {
    fn item_id_of(&self) -> Option<u64> {
        Some(*self)
    }
}

impl IntoItemId for Option<u64> {
    fn item_id_of(&self) -> Option<u64> {
        *self
    }
}

/// Decodes one named field of a map (missing -> `null`), naming the field in errors.
pub fn field<T: serde::de::DeserializeOwned>(
    map: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<T, serde_json::Error> {
    let value = map.get(key).cloned().unwrap_or(serde_json::Value::Null);
    serde_json::from_value(value)
        .map_err(|e| <serde_json::Error as serde::de::Error>::custom(format!("`{key}`: {e}")))
}

/// [`field`] with a `deserialize_with`-style function.
pub fn field_with<T>(
    map: &serde_json::Map<String, serde_json::Value>,
    key: &str,
    with: fn(serde_json::Value) -> Result<T, serde_json::Error>,
) -> Result<T, serde_json::Error> {
    let value = map.get(key).cloned().unwrap_or(serde_json::Value::Null);
    with(value)
        .map_err(|e| <serde_json::Error as serde::de::Error>::custom(format!("`{key}`: {e}")))
}

/// Encodes one field into a map unless it serializes to `null`.
pub fn put<T: serde::Serialize>(
    map: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    value: &T,
) -> Result<(), serde_json::Error> {
    let value = serde_json::to_value(value)?;
    if !value.is_null() {
        map.insert(key.to_owned(), value);
    }
    Ok(())
}
