//! Checking what the caller gave us, before anything is sent: method names, and params that
//! must form a JSON object. One place for each rule, used by plain calls, batch commands and
//! list walks alike.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::method::Method;

/// What is wrong with a method name, if anything: empty, or a character Bitrix24 method names
/// do not use (they are letters, digits, `.`, `_`, `-`). The one rule for every caller (plain
/// calls, batch commands, the policy), which each wraps in its own error.
pub(crate) fn method_name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("the method name is empty".to_owned());
    }
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .map(|c| {
            format!("the method name contains `{c}`; names are letters, digits, `.`, `_`, `-`")
        })
}

/// Checks a method name ([`method_name_problem`]): [`Error::InvalidInput`] naming it.
pub(crate) fn validate_method_name(name: &str) -> Result<(), Error> {
    match method_name_problem(name) {
        Some(problem) => Err(Error::invalid(name, problem)),
        None => Ok(()),
    }
}

/// What kind of JSON value a value is, for messages (one wording crate-wide).
pub(crate) use crate::error::json_kind;

/// Serializes a call's params and checks they form a JSON object; `null` (`()`, a unit
/// struct, `Value::Null`) means no params. `method` names the call in errors.
pub(crate) fn params_object<P: Serialize>(
    method: &str,
    params: P,
) -> Result<Map<String, Value>, Error> {
    match serde_json::to_value(params) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(Error::invalid(
            method,
            format!(
                "params must be a JSON object (a struct or map), got {}",
                json_kind(&other)
            ),
        )),
        Err(e) => Err(Error::invalid(
            method,
            format!("params do not serialize: {e}"),
        )),
    }
}

/// A typed method's params: its own checks ([`Method::validate`]), then [`params_object`].
pub(crate) fn method_params<M: Method>(method: &M) -> Result<Map<String, Value>, Error> {
    method.validate().map_err(|m| Error::invalid(M::NAME, m))?;
    params_object(M::NAME, method)
}

/// The params as the body of a plain call.
pub(crate) fn body(method: &str, params: &Map<String, Value>) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(params).map_err(|e| Error::invalid(method, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn method_names_are_checked() {
        assert!(validate_method_name("crm.deal.add").is_ok());
        assert!(validate_method_name("telephony.externalCall.register").is_ok());
        assert!(validate_method_name("").is_err());
        assert!(validate_method_name("crm.deal.add?x=1").is_err());
        assert!(validate_method_name("../x").is_err());
        assert_eq!(
            method_name_problem("crm.deal.add?x=1").as_deref(),
            Some("the method name contains `?`; names are letters, digits, `.`, `_`, `-`")
        );
        assert_eq!(
            method_name_problem(" ").as_deref(),
            Some("the method name is empty")
        );
        assert_eq!(method_name_problem("im.message.add"), None);
    }

    #[test]
    fn params_are_an_object_or_nothing() {
        struct Broken;
        impl Serialize for Broken {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no"))
            }
        }
        #[derive(Serialize)]
        struct Fields {
            #[serde(rename = "ID")]
            id: u64,
            #[serde(rename = "TITLE")]
            title: &'static str,
        }
        let map = params_object("m", Fields { id: 4, title: "x" }).unwrap();
        assert_eq!(
            body("m", &map).unwrap(),
            br#"{"ID":4,"TITLE":"x"}"#,
            "fields keep their order"
        );
        assert!(params_object("m", ()).unwrap().is_empty());
        assert!(params_object("m", Value::Null).unwrap().is_empty());
        assert_eq!(params_object("m", json!({"a": 1})).unwrap()["a"], 1);
        for (params, kind) in [
            (json!("x"), "a string"),
            (json!([1]), "an array"),
            (json!(5), "a number"),
            (json!(true), "a boolean"),
        ] {
            match params_object("crm.deal.add", params.clone()) {
                Err(Error::InvalidInput { method, message }) => {
                    assert_eq!(method, "crm.deal.add");
                    assert!(message.contains(kind), "{message}");
                }
                other => panic!("{params}: {other:?}"),
            }
        }
        let err = params_object("m", Broken).unwrap_err();
        assert!(err.to_string().contains("do not serialize"), "{err}");
    }
}
