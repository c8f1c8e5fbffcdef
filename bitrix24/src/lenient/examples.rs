//! Checks of the documented examples and entity samples, called by the generated tests.

use serde_json::Value;

/// The `result` of a documented example: the example is either the whole body
/// (`{"result": ..., "time": ...}`) or the `result` value alone.
pub(crate) fn example_result(json: &str) -> Value {
    let value: Value =
        serde_json::from_str(json).expect("the example is JSON (checked by the generator)");
    match value {
        Value::Object(mut map)
            if map.contains_key("result")
                && map
                    .keys()
                    .all(|k| matches!(k.as_str(), "result" | "time" | "total" | "next")) =>
        {
            map.remove("result").unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// Decodes a documented example into `M::Response` (with `M::decode_response`, as the client
/// does), panicking with the JSON path on failure.
pub(crate) fn check_example<M: crate::Method>(json: &str) {
    let result = example_result(json);
    let mut track = serde_path_to_error::Track::new();
    if let Err(e) = M::decode_response(serde_path_to_error::Deserializer::new(result, &mut track)) {
        panic!(
            "{}: the example does not decode at `{}`: {e}",
            M::NAME,
            track.path()
        );
    }
}

/// [`check_example`], plus every row into `M::Item`.
pub(crate) fn check_list_example<M: crate::ListMethod>(json: &str) {
    check_example::<M>(json);
    let mut result = example_result(json);
    if let Some(key) = M::WRAPPER {
        result = result.get(key).cloned().unwrap_or(Value::Null);
    }
    let rows = match result {
        Value::Array(rows) => rows,
        Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    for (i, row) in rows.into_iter().enumerate() {
        if let Err(e) = serde_path_to_error::deserialize::<_, M::Item>(row) {
            panic!(
                "{}: row {i} does not decode at `{}`: {}",
                M::NAME,
                e.path(),
                e.inner()
            );
        }
    }
}

/// Decodes a generated entity sample (every field in Bitrix24's string-typed form plus
/// `UF_CRM_SAMPLE`), panicking with the JSON path on failure; the unknown field must be kept.
pub(crate) fn check_entity_sample<T: serde::de::DeserializeOwned + crate::Entity>(json: &str) {
    let value: Value = serde_json::from_str(json).expect("the sample is JSON");
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(entity) => assert_eq!(
            entity.extra().get("UF_CRM_SAMPLE"),
            Some(&Value::from("kept")),
            "{}: unknown fields must be kept in `extra`",
            T::NAME
        ),
        Err(e) => panic!(
            "{}: the sample does not decode at `{}`: {}",
            T::NAME,
            e.path(),
            e.inner()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn example_envelopes() {
        assert_eq!(example_result(r#"{"result": 5, "time": {}}"#), json!(5));
        assert_eq!(
            example_result(r#"{"result": 5, "other": 1}"#),
            json!({"result": 5, "other": 1})
        );
        assert_eq!(example_result("[1]"), json!([1]));
    }
}
