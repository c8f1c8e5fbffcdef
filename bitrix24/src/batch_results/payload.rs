//! The `result` of a `batch` answer, read in one pass: five PHP maps keyed by command, each
//! command's result decoded by a seed as the body is read, either kept as raw JSON for a
//! typed decode later ([`BatchPayload`], what a [`BatchResults`](super::BatchResults) holds)
//! or straight into its type (a pagination walk's pages, whose commands all list one method).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::lenient::{self, LenientDecode, OrAbsent};
use crate::response::TimeInfo;

/// The `result` of a `batch` call: five maps keyed by command. Each may arrive as an object,
/// as `[]` when empty, or as a list when the keys are `0..n-1`. `R` is what a command's result
/// is read as: its raw JSON unless a seed says otherwise ([`PayloadSeed`]).
#[derive(Debug)]
pub(crate) struct BatchPayload<R = Box<RawValue>> {
    pub(super) results: HashMap<String, R>,
    pub(super) errors: HashMap<String, Box<RawValue>>,
    pub(super) totals: HashMap<String, u64>,
    pub(super) nexts: HashMap<String, u64>,
    pub(super) times: HashMap<String, TimeInfo>,
}

impl<R> Default for BatchPayload<R> {
    fn default() -> Self {
        BatchPayload {
            results: HashMap::new(),
            errors: HashMap::new(),
            totals: HashMap::new(),
            nexts: HashMap::new(),
            times: HashMap::new(),
        }
    }
}

impl<R> BatchPayload<R> {
    /// Whether a command failed (`result_error` is not empty).
    pub(crate) fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}

impl<'de> Deserialize<'de> for BatchPayload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PayloadSeed(PhantomData::<Box<RawValue>>).deserialize(d)
    }
}

/// Reads a `batch` result with every command's result decoded by the seed `S`.
#[derive(Clone)]
pub(crate) struct PayloadSeed<S>(pub S);

impl<'de, S: DeserializeSeed<'de> + Clone> DeserializeSeed<'de> for PayloadSeed<S> {
    type Value = BatchPayload<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(PayloadVisitor(self.0))
    }
}

struct PayloadVisitor<S>(S);

impl<'de, S: DeserializeSeed<'de> + Clone> Visitor<'de> for PayloadVisitor<S> {
    type Value = BatchPayload<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a batch result (`result`, `result_error`, `result_total`, ...)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        fn present<V>(map: PhpMap<OrAbsent<V>>) -> HashMap<String, V> {
            map.0
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| v.0.map(|v| (k, v)))
                .collect()
        }
        let mut out = BatchPayload::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "result" => out.results = map.next_value_seed(CommandsSeed(self.0.clone()))?,
                "result_error" => {
                    out.errors = map.next_value_seed(CommandsSeed(PhantomData::<Box<RawValue>>))?;
                }
                "result_total" => out.totals = present(map.next_value()?),
                "result_next" => out.nexts = present(map.next_value()?),
                "result_time" => out.times = present(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// One map of the bookkeeping (`result_total`, ...) in any of PHP's forms, read by `lenient`.
struct PhpMap<V>(Option<BTreeMap<String, V>>);

impl<'de, V: LenientDecode> Deserialize<'de> for PhpMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient::option(d).map(PhpMap)
    }
}

/// The commands' results (or errors) keyed by command, each read by the seed `S`: an object,
/// a list (keys `0..n-1`), or one of PHP's empty values (`[]`, `null`, `""`, `false`).
struct CommandsSeed<S>(S);

impl<'de, S: DeserializeSeed<'de> + Clone> DeserializeSeed<'de> for CommandsSeed<S> {
    type Value = HashMap<String, S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: DeserializeSeed<'de> + Clone> Visitor<'de> for CommandsSeed<S> {
    type Value = HashMap<String, S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object keyed by command (or a list, or `[]`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = HashMap::with_capacity(map.size_hint().unwrap_or(50));
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self.0.clone())?;
            out.insert(key, value);
        }
        Ok(out)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = HashMap::new();
        while let Some(value) = seq.next_element_seed(self.0.clone())? {
            out.insert(out.len().to_string(), value);
        }
        Ok(out)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(HashMap::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(HashMap::new())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        if v {
            Err(E::invalid_type(de::Unexpected::Bool(v), &self))
        } else {
            Ok(HashMap::new())
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.is_empty() {
            Ok(HashMap::new())
        } else {
            Err(E::invalid_type(de::Unexpected::Str(v), &self))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{ItemsSeed, decode};

    #[test]
    fn payload_from_docs_and_php_quirks() {
        let body = r#"{"result":{"result":{"get_user":{"ID":"1","UF_DEPARTMENT":[1]},"get_department":[{"ID":"1","NAME":"DEMO","SORT":500}]},"result_error":[],"result_total":{"get_department":1},"result_next":[],"result_time":{"get_user":{"start":1724916859.46156,"operating":0}}},"time":{"start":1}}"#;
        let r = decode("batch", 200, body.as_bytes(), PhantomData::<BatchPayload>).unwrap();
        let p = r.result;
        assert_eq!(p.results.len(), 2);
        assert!(p.errors.is_empty());
        assert_eq!(p.totals.get("get_department"), Some(&1));
        assert_eq!(p.times["get_user"].operating, Some(0.0));

        // Keys 0..n-1 come back as JSON lists; failures in result_error.
        let body = r#"{"result":{"result":{"35943":{"ID":"35943"}},"result_error":[{"error":"","error_description":"Not found"},{"error":"insufficient_scope","error_description":""}],"result_total":[],"result_next":[],"result_time":[]}}"#;
        let p = decode("batch", 200, body.as_bytes(), PhantomData::<BatchPayload>)
            .unwrap()
            .result;
        assert_eq!(p.errors.len(), 2);
        assert!(p.errors["1"].get().contains("insufficient_scope"));
        assert_eq!(p.results["35943"].get(), r#"{"ID":"35943"}"#);
    }

    #[test]
    fn pages_decode_as_the_body_is_read() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct Row {
            #[serde(rename = "ID")]
            id: String,
        }
        // `p1` is PHP's empty array; `p2` failed; `result_next` is a list (keys 0..n-1).
        let body = br#"{"result":{"result":{"p0":[{"ID":"1"},{"ID":"2"}],"p1":[]},
            "result_error":{"p2":{"error":"ACCESS_DENIED","error_description":"no"}},
            "result_total":{"p0":"120","p1":0},"result_next":["50"],"result_time":[]},"time":{}}"#;
        let seed = PayloadSeed(ItemsSeed::<Row>::new(None));
        let p = decode("batch", 200, body, seed).unwrap().result;
        let ids: Vec<&str> = p.results["p0"].iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["1", "2"]);
        assert!(p.results["p1"].is_empty());
        assert!(p.has_errors() && p.errors["p2"].get().contains("ACCESS_DENIED"));
        assert_eq!((p.totals["p0"], p.totals["p1"]), (120, 0));
        assert_eq!(p.nexts.get("0"), Some(&50));
        // A row that is not of the type fails the typed reading (the caller falls back to the
        // raw one, which names the command and the path).
        let bad = br#"{"result":{"result":{"p0":[{"ID":7}]}}}"#;
        let seed = PayloadSeed(ItemsSeed::<Row>::new(None));
        assert!(decode("batch", 200, bad, seed).is_err());
        assert!(decode("batch", 200, bad, PhantomData::<BatchPayload>).is_ok());
    }
}
