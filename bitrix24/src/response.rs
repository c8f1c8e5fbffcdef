//! One response body decoded in one pass from its bytes: [`Response`] and [`TimeInfo`], the v2
//! and REST 3.0 envelopes (success or error), list rows under their wrapper ([`ItemsSeed`]).
//! What the client, batches and pagination decode with; the public face is
//! [`crate::envelope`].

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, Error, ErrorCode};
use crate::lenient::{AbsentIfInvalid, OrAbsent};

/// The `time` block of a response: how long the call took and the method's operating time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TimeInfo {
    /// Request start, unix seconds.
    #[serde(default, deserialize_with = "crate::lenient::or_absent")]
    pub start: Option<f64>,
    /// Request end, unix seconds.
    #[serde(default, deserialize_with = "crate::lenient::or_absent")]
    pub finish: Option<f64>,
    /// `finish - start`, seconds.
    #[serde(default, deserialize_with = "crate::lenient::or_absent")]
    pub duration: Option<f64>,
    /// Time spent inside the method, seconds.
    #[serde(default, deserialize_with = "crate::lenient::or_absent")]
    pub processing: Option<f64>,
    /// Start as ISO 8601.
    #[serde(default)]
    pub date_start: Option<String>,
    /// End as ISO 8601.
    #[serde(default)]
    pub date_finish: Option<String>,
    /// Seconds this method has used over the last 10 minutes (for this app or webhook).
    #[serde(default, deserialize_with = "crate::lenient::or_absent")]
    pub operating: Option<f64>,
    /// Unix time when the oldest accounted minute leaves the window.
    #[serde(default, deserialize_with = "crate::lenient::or_absent")]
    pub operating_reset_at: Option<f64>,
}

/// A time block as bookkeeping (a batch's `result_time`): absent when it is not an object of
/// times.
impl AbsentIfInvalid for TimeInfo {
    fn read(value: Value) -> Option<Self> {
        Option::<TimeInfo>::deserialize(value).ok().flatten()
    }
}

/// A decoded response with its envelope fields.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Response<T> {
    /// The typed `result`.
    pub result: T,
    /// `total`, for list methods (absent with `start=-1`).
    pub total: Option<u64>,
    /// `next`: the `start` of the next page, present only when more rows remain.
    pub next: Option<u64>,
    /// The `time` block.
    pub time: Option<TimeInfo>,
    /// Whether the portal answered a REST 3.0 write from its `Idempotency-Key` store
    /// (`Idempotent-Replayed: true`) instead of running it: a re-send of a call whose first
    /// answer was lost.
    pub replayed: bool,
}

impl<T> Response<T> {
    /// A response with only a result (for mocks and tests of code that takes a `Response`).
    pub fn new(result: T) -> Self {
        Response {
            result,
            total: None,
            next: None,
            time: None,
            replayed: false,
        }
    }
}

/// The envelope fields, before deciding between success and error.
pub(crate) struct RawEnvelope<T> {
    pub result: Option<T>,
    pub next: Option<u64>,
    pub total: Option<u64>,
    pub time: Option<TimeInfo>,
    pub error: Option<ErrorField>,
    pub error_description: Option<String>,
    pub argument: Option<String>,
}

/// `error` is a code string on v2 and an object on REST 3.0.
pub(crate) enum ErrorField {
    Code(String),
    V3 {
        code: String,
        message: String,
        validation: Vec<(Option<String>, String)>,
    },
}

/// Deserializes `result` with a seed; everything else leniently.
#[derive(Clone)]
pub(crate) struct EnvelopeSeed<S>(pub S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for EnvelopeSeed<S> {
    type Value = RawEnvelope<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(EnvelopeVisitor(Some(self.0)))
    }
}

struct EnvelopeVisitor<S>(Option<S>);

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for EnvelopeVisitor<S> {
    type Value = RawEnvelope<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Bitrix24 response object with `result` or `error`")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut env = RawEnvelope {
            result: None,
            next: None,
            total: None,
            time: None,
            error: None,
            error_description: None,
            argument: None,
        };
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "result" => match self.0.take() {
                    Some(seed) => env.result = Some(map.next_value_seed(seed)?),
                    None => return Err(de::Error::duplicate_field("result")),
                },
                "next" => env.next = map.next_value::<OrAbsent<u64>>()?.0,
                "total" => env.total = map.next_value::<OrAbsent<u64>>()?.0,
                "time" => env.time = map.next_value::<Option<TimeInfo>>()?,
                "error" => env.error = map.next_value::<Option<ErrorFieldDe>>()?.map(|e| e.0),
                "error_description" => {
                    env.error_description = map.next_value::<OrAbsent<String>>()?.0;
                }
                "argument" => env.argument = map.next_value::<OrAbsent<String>>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(env)
    }
}

struct ErrorFieldDe(ErrorField);

impl<'de> Deserialize<'de> for ErrorFieldDe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct V3Validation {
            #[serde(default)]
            message: OrAbsent<String>,
            #[serde(default)]
            field: OrAbsent<String>,
        }
        #[derive(Deserialize)]
        struct V3 {
            #[serde(default)]
            code: OrAbsent<String>,
            #[serde(default)]
            message: OrAbsent<String>,
            #[serde(default)]
            validation: Vec<V3Validation>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            V3(V3),
            Code(OrAbsent<String>),
        }
        Ok(ErrorFieldDe(match Either::deserialize(d)? {
            Either::Code(c) => ErrorField::Code(c.0.unwrap_or_default()),
            Either::V3(v) => ErrorField::V3 {
                code: v.code.0.unwrap_or_default(),
                message: v.message.0.unwrap_or_default(),
                validation: v
                    .validation
                    .into_iter()
                    .map(|x| (x.field.0, x.message.0.unwrap_or_default()))
                    .collect(),
            },
        }))
    }
}

/// Seed for the rows of a list page: `result` is the list itself, or an object with the list
/// under `wrapper` (`tasks`, `items`). An empty PHP array `[]` is an empty page.
pub(crate) struct ItemsSeed<T> {
    pub wrapper: Option<&'static str>,
    pub marker: PhantomData<T>,
}

impl<T> Clone for ItemsSeed<T> {
    fn clone(&self) -> Self {
        ItemsSeed::new(self.wrapper)
    }
}

impl<T> ItemsSeed<T> {
    pub fn new(wrapper: Option<&'static str>) -> Self {
        ItemsSeed {
            wrapper,
            marker: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ItemsSeed<T> {
    type Value = Vec<T>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_any(ItemsVisitor::<T> {
            wrapper: self.wrapper,
            marker: PhantomData,
        })
    }
}

struct ItemsVisitor<T> {
    wrapper: Option<&'static str>,
    marker: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ItemsVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.wrapper {
            Some(w) => write!(f, "an object with a `{w}` list"),
            None => f.write_str("a list of rows"),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        // A v2 page holds 50 rows (JSON does not say how many before they are read).
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(50).min(64));
        while let Some(item) = seq.next_element()? {
            out.push(item);
        }
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match self.wrapper {
                Some(w) if key == w => {
                    out = map.next_value_seed(ItemsSeed::<T>::new(None))?;
                }
                Some(_) => {
                    map.next_value::<IgnoredAny>()?;
                }
                // A PHP array with non-sequential keys: its values are the rows.
                None => out.push(map.next_value()?),
            }
        }
        Ok(out)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }
}

/// Decodes a response body. `status` is the HTTP status; `method` names the call in errors.
pub(crate) fn decode<'de, S>(
    method: &str,
    status: u16,
    body: &'de [u8],
    seed: S,
) -> Result<Response<S::Value>, Error>
where
    S: DeserializeSeed<'de> + Clone,
{
    // A body checked as UTF-8 once is read as text: its strings are not checked again one by
    // one (a list page holds thousands). A body that is not UTF-8 fails where the bytes do.
    let env = match std::str::from_utf8(body) {
        Ok(text) => deserialize_tracked(|| serde_json::de::StrRead::new(text), EnvelopeSeed(seed)),
        Err(_) => deserialize_tracked(|| serde_json::de::SliceRead::new(body), EnvelopeSeed(seed)),
    };
    let env = match env {
        Ok(env) => env,
        Err((err, path)) => return Err(decode_failure(method, status, body, &path, &err)),
    };
    if let Some(error) = env.error {
        return Err(api_error(
            method,
            status,
            error,
            env.error_description,
            env.argument,
        ));
    }
    match env.result {
        Some(result) => Ok(Response {
            result,
            total: env.total,
            next: env.next,
            time: env.time,
            replayed: false,
        }),
        None => Err(Error::Decode {
            method: method.to_owned(),
            path: ".".to_owned(),
            message: "the response has neither `result` nor `error`".to_owned(),
            status,
        }),
    }
}

/// Deserializes one whole JSON document (`read` gives its reader) with `seed`. Only a failure
/// pays for the JSON path: the document is read a second time with the path tracked, and the
/// error comes back with it (`result[3].ID`). Decoding is deterministic, so the second reading
/// fails where the first did; the path costs nothing on the rows that decode.
pub(crate) fn deserialize_tracked<'de, R, S>(
    read: impl Fn() -> R,
    seed: S,
) -> Result<S::Value, (serde_json::Error, String)>
where
    R: serde_json::de::Read<'de>,
    S: DeserializeSeed<'de> + Clone,
{
    let mut json = serde_json::Deserializer::new(read());
    let first = match seed.clone().deserialize(&mut json) {
        Ok(value) => match json.end() {
            Ok(()) => return Ok(value),
            Err(e) => e,
        },
        Err(e) => e,
    };
    let mut json = serde_json::Deserializer::new(read());
    let mut track = serde_path_to_error::Track::new();
    let again = seed
        .deserialize(serde_path_to_error::Deserializer::new(
            &mut json, &mut track,
        ))
        .and_then(|_| json.end());
    let path = track.path().to_string();
    Err((again.err().unwrap_or(first), path))
}

/// Decodes only the error part of a body (for statuses where no result is expected).
pub(crate) fn api_error(
    method: &str,
    status: u16,
    error: ErrorField,
    description: Option<String>,
    argument: Option<String>,
) -> Error {
    let (code, description, validation) = match error {
        ErrorField::Code(code) => (code, description.unwrap_or_default(), Vec::new()),
        ErrorField::V3 {
            code,
            message,
            validation,
        } => (code, message, validation),
    };
    Error::Api(Box::new(ApiError {
        method: method.to_owned(),
        code: ErrorCode::parse(&code),
        description,
        status,
        argument,
        validation,
    }))
}

fn decode_failure(
    method: &str,
    status: u16,
    body: &[u8],
    path: &str,
    err: &serde_json::Error,
) -> Error {
    let trimmed = body.trim_ascii_start();
    let message = if trimmed.is_empty() {
        "the body is empty".to_owned()
    } else if trimmed.starts_with(b"<") {
        format!(
            "the body is HTML or XML, not JSON ({} bytes; a proxy or server error page?)",
            body.len()
        )
    } else if err.is_eof() {
        format!("the body ends early ({} bytes): {err}", body.len())
    } else {
        err.to_string()
    };
    let (path, message) = crate::lenient::join_field_path(path, &message);
    Error::Decode {
        method: method.to_owned(),
        path,
        message,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec<T: serde::de::DeserializeOwned>(status: u16, body: &str) -> Result<Response<T>, Error> {
        decode("m", status, body.as_bytes(), PhantomData::<T>)
    }

    #[test]
    fn success_envelope_with_time_from_docs() {
        let body = r#"{"result":394,"time":{"start":1721722262.960948,"finish":1721722262.985244,"duration":0.024296045303344727,"processing":0.0012989044189453125,"date_start":"2024-07-23T08:11:02+00:00","date_finish":"2024-07-23T08:11:02+00:00","operating_reset_at":1721722862,"operating":0}}"#;
        let r = dec::<u64>(200, body).unwrap();
        assert_eq!(r.result, 394);
        let t = r.time.unwrap();
        assert_eq!(t.operating, Some(0.0));
        assert_eq!(t.operating_reset_at, Some(1_721_722_862.0));
    }

    #[test]
    fn next_and_total_lenient() {
        let r = dec::<Vec<u8>>(200, r#"{"result":[],"next":"50","total":7531}"#).unwrap();
        assert_eq!((r.next, r.total), (Some(50), Some(7531)));
    }

    #[test]
    fn legacy_empty_code_error() {
        let e = dec::<u64>(400, r#"{"error":"","error_description":"Not found"}"#).unwrap_err();
        let api = e.api().unwrap();
        assert_eq!(api.code, ErrorCode::Empty);
        assert_eq!(api.description, "Not found");
        assert_eq!(api.status, 400);
    }

    #[test]
    fn error_with_http_200_is_an_error() {
        let e = dec::<serde_json::Value>(
            200,
            r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), Some(&ErrorCode::QueryLimitExceeded));
    }

    #[test]
    fn argument_is_kept() {
        let e = dec::<u64>(
            400,
            r#"{"error":"ERROR_ARGUMENT","error_description":"Argument 'ENTITY' is null or empty","argument":"ENTITY"}"#,
        )
        .unwrap_err();
        assert_eq!(e.api().unwrap().argument.as_deref(), Some("ENTITY"));
    }

    #[test]
    fn v3_error_object() {
        let e = dec::<u64>(400, r#"{"error":{"code":"BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION","message":"Error validating request object","validation":[{"message":"Required field `id` is not specified","field":"id"}]}}"#).unwrap_err();
        let api = e.api().unwrap();
        assert_eq!(
            api.validation,
            vec![(
                Some("id".into()),
                "Required field `id` is not specified".into()
            )]
        );
        let e = dec::<u64>(404, r#"{"error":{"code":"BITRIX_REST_V3_EXCEPTION_METHODNOTFOUNDEXCEPTION","message":"Method \"x\" was not found."}}"#).unwrap_err();
        assert_eq!(e.code(), Some(&ErrorCode::V3MethodNotFound));
    }

    #[test]
    fn numeric_error_code_string() {
        let e = dec::<u64>(
            400,
            r#"{"error":"0","error_description":"Invalid sorting key (internal error)"}"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), Some(&ErrorCode::Unknown("0".into())));
    }

    #[test]
    fn decode_error_names_json_path() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Row {
            #[serde(rename = "ID")]
            id: u64,
        }
        let e = dec::<Vec<Row>>(200, r#"{"result":[{"ID":1},{"ID":"x"}]}"#).unwrap_err();
        match e {
            Error::Decode { path, .. } => assert_eq!(path, "result[1].ID"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    #[cfg(feature = "core")]
    fn a_failure_names_its_path_after_good_rows_and_in_trailing_text() {
        // The path is tracked only for a body that fails: it must still be the failing row's.
        let rows: Vec<String> = (0..60).map(|i| format!(r#"{{"ID":"{i}"}}"#)).collect();
        let body = format!(r#"{{"result":[{},{{"ID":"x"}}]}}"#, rows.join(","));
        let e = decode(
            "m",
            200,
            body.as_bytes(),
            ItemsSeed::<crate::packs::core::Deal>::new(None),
        )
        .unwrap_err();
        assert!(
            matches!(&e, Error::Decode { path, .. } if path == "result[60].ID"),
            "{e:?}"
        );
        let e = dec::<u64>(200, r#"{"result":1} trailing"#).unwrap_err();
        assert!(
            matches!(&e, Error::Decode { message, .. } if message.contains("trailing")),
            "{e:?}"
        );
    }

    #[test]
    fn html_and_truncated_bodies() {
        let e = dec::<u64>(502, "<html><body>Bad Gateway</body></html>").unwrap_err();
        assert!(
            matches!(&e, Error::Decode { message, status: 502, .. } if message.contains("HTML")),
            "{e}"
        );
        let e = dec::<serde_json::Value>(200, r#"{"result":{"ID":"4"#).unwrap_err();
        assert!(
            matches!(&e, Error::Decode { message, .. } if message.contains("ends early")),
            "{e}"
        );
        let e = dec::<u64>(200, "").unwrap_err();
        assert!(
            matches!(&e, Error::Decode { message, .. } if message.contains("empty")),
            "{e}"
        );
        let e = dec::<u64>(200, r#"{"time":{}}"#).unwrap_err();
        assert!(e.to_string().contains("neither"), "{e}");
    }

    #[test]
    fn wrapped_items() {
        let body = r#"{"result":{"tasks":[{"id":"8017"}]},"total":1}"#;
        let r = decode(
            "tasks.task.list",
            200,
            body.as_bytes(),
            ItemsSeed::<serde_json::Value>::new(Some("tasks")),
        )
        .unwrap();
        assert_eq!(r.result.len(), 1);
        let r = decode(
            "x",
            200,
            br#"{"result":[]}"#,
            ItemsSeed::<serde_json::Value>::new(Some("tasks")),
        )
        .unwrap();
        assert!(r.result.is_empty());
    }
}
