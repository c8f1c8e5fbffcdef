//! The outcome of a sent `batch`: [`BatchResults`], read by [`BatchHandle`]s, and the
//! decoding of the `batch` answer (five PHP maps keyed by command).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer};
use serde_json::value::RawValue;

use crate::client::Client;
use crate::error::{ApiError, Error, ErrorCode};
use crate::lenient::{self, LenientDecode, OrAbsent};
use crate::method::{ListMethod, Method};
use crate::response::{ItemsSeed, Response, TimeInfo};

/// Identifies a command in a [`Batch`](crate::Batch) and the type of its result.
pub struct BatchHandle<T> {
    key: String,
    /// The batch that made the handle (`None` for [`BatchHandle::new`]): its `$result[key]`
    /// means that batch's command, so an id parameter refuses it anywhere else.
    batch: Option<u64>,
    marker: PhantomData<fn() -> T>,
    /// How [`BatchResults::get`] decodes the result: the method's `decode_response` for a
    /// handle from [`Batch::add`](crate::Batch::add), the type's own `Deserialize` when `None`.
    decode: Option<DecodeFn<T>>,
}

type DecodeFn<T> = fn(&BatchResults, &str) -> Result<T, Error>;

/// The result under `key`, decoded with `M::decode_response`.
fn decode_command<M: Method>(results: &BatchResults, key: &str) -> Result<M::Response, Error> {
    results.decode_with(key, crate::method::ResponseSeed::<M>::new())
}

impl<T> BatchHandle<T> {
    /// A handle for the command under `key`, typed as `T`: for the commands of a batch answer
    /// decoded with [`crate::envelope::decode_batch`], whose keys you know but whose handles
    /// [`Batch::add`](crate::Batch::add) never gave you.
    ///
    /// ```
    /// use bitrix24::BatchHandle;
    /// let user: BatchHandle<serde_json::Value> = BatchHandle::new("get_user");
    /// assert_eq!(user.key(), "get_user");
    /// ```
    pub fn new(key: impl Into<String>) -> Self {
        BatchHandle {
            key: key.into(),
            batch: None,
            marker: PhantomData,
            decode: None,
        }
    }

    /// The handle of a command of `M` under `key` of the batch numbered `batch`: its result
    /// decodes with `M::decode_response`.
    pub(crate) fn for_method<M: Method<Response = T>>(key: &str, batch: u64) -> Self {
        BatchHandle {
            key: key.to_owned(),
            batch: Some(batch),
            marker: PhantomData,
            decode: Some(decode_command::<M>),
        }
    }

    /// The command's key in the batch.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The number of the batch that made the handle, if a batch did.
    pub(crate) fn batch(&self) -> Option<u64> {
        self.batch
    }
}

impl<T> Clone for BatchHandle<T> {
    fn clone(&self) -> Self {
        BatchHandle {
            key: self.key.clone(),
            batch: self.batch,
            marker: PhantomData,
            decode: self.decode,
        }
    }
}

impl<T> fmt::Debug for BatchHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BatchHandle").field(&self.key).finish()
    }
}

fn command_error(method: &str, raw: &RawValue) -> ApiError {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        error: OrAbsent<String>,
        #[serde(default)]
        error_description: OrAbsent<String>,
        #[serde(default)]
        argument: OrAbsent<String>,
    }
    let body: Body = serde_json::from_str(raw.get()).unwrap_or(Body {
        error: OrAbsent(Some(raw.get().to_owned())),
        error_description: OrAbsent(None),
        argument: OrAbsent(None),
    });
    ApiError {
        method: method.to_owned(),
        code: ErrorCode::parse(body.error.0.as_deref().unwrap_or_default()),
        description: body.error_description.0.unwrap_or_default(),
        status: 200,
        argument: body.argument.0,
        validation: Vec::new(),
    }
}

#[derive(Debug)]
enum Outcome {
    Done(Box<RawValue>),
    Failed(ApiError),
    RequestFailed(Arc<Error>),
    NotExecuted,
}

#[derive(Debug)]
struct Entry {
    method: String,
    outcome: Outcome,
    total: Option<u64>,
    next: Option<u64>,
    time: Option<TimeInfo>,
}

impl Entry {
    fn new(method: &str, outcome: Outcome) -> Self {
        Entry {
            method: method.to_owned(),
            outcome,
            total: None,
            next: None,
            time: None,
        }
    }
}

/// The outcome of every command of a sent [`Batch`](crate::Batch).
#[derive(Debug)]
pub struct BatchResults {
    entries: HashMap<String, Entry>,
    /// The number of the batch these are the results of (`None` for a decoded answer).
    batch: Option<u64>,
}

impl BatchResults {
    /// No outcome yet, for `n` commands.
    pub(crate) fn with_capacity(n: usize) -> BatchResults {
        BatchResults {
            entries: HashMap::with_capacity(n),
            batch: None,
        }
    }

    /// These are the results of the batch numbered `serial`: its handles read them, another
    /// batch's are refused.
    pub(crate) fn of_batch(mut self, serial: u64) -> BatchResults {
        self.batch = Some(serial);
        self
    }

    /// The outcome of the commands (key, method) of one answered `batch` request, as
    /// [`BatchResults::absorb`] records it.
    pub(crate) fn from_payload<'k>(
        client: &Client,
        commands: impl ExactSizeIterator<Item = (&'k str, &'k str)>,
        payload: BatchPayload,
    ) -> BatchResults {
        let mut results = BatchResults::with_capacity(commands.len());
        results.absorb(client, commands, Ok(Response::new(payload)));
        results
    }

    /// Records the outcome of one request that carried `commands` (key, method): each
    /// command's result or its error from `result_error`, and its total, next and time (the
    /// client's operating-time tracker learns the times, and blocks a method the portal
    /// stopped). A command the answer does not mention was not executed; when the request
    /// itself failed, every command shares its error.
    pub(crate) fn absorb<'k>(
        &mut self,
        client: &Client,
        commands: impl IntoIterator<Item = (&'k str, &'k str)>,
        outcome: Result<Response<BatchPayload>, Error>,
    ) {
        match outcome {
            Ok(resp) => {
                let mut payload = resp.result;
                for (key, method) in commands {
                    let mut entry = Entry::new(method, Outcome::NotExecuted);
                    if let Some(raw) = payload.errors.remove(key) {
                        let error = command_error(method, &raw);
                        if error.code == ErrorCode::OperationTimeLimit {
                            client
                                .inner
                                .operating
                                .block(method, client.inner.clock.unix_now());
                        }
                        entry.outcome = Outcome::Failed(error);
                    } else if let Some(raw) = payload.results.remove(key) {
                        entry.outcome = Outcome::Done(raw);
                    }
                    entry.total = payload.totals.remove(key);
                    entry.next = payload.nexts.remove(key);
                    if let Some(time) = payload.times.remove(key) {
                        client
                            .inner
                            .operating
                            .record(method, &time, client.inner.clock.unix_now());
                        entry.time = Some(time);
                    }
                    self.entries.insert(key.to_owned(), entry);
                }
            }
            Err(err) => {
                let shared = Arc::new(err);
                for (key, method) in commands {
                    self.entries.insert(
                        key.to_owned(),
                        Entry::new(method, Outcome::RequestFailed(shared.clone())),
                    );
                }
            }
        }
    }

    /// Marks a command that no answer mentioned (its request was never sent) as not executed.
    pub(crate) fn not_executed(&mut self, key: &str, method: &str) {
        self.entries
            .entry(key.to_owned())
            .or_insert_with(|| Entry::new(method, Outcome::NotExecuted));
    }

    /// The outcome of every command of a recorded batch answer (see
    /// [`crate::envelope::decode_batch`]). The commands' methods are not in the answer, so
    /// their errors name the method `batch`. A command in `result_error` failed, even when it
    /// also has a `result`.
    pub(crate) fn recorded(payload: BatchPayload) -> BatchResults {
        let BatchPayload {
            results,
            errors,
            mut totals,
            mut nexts,
            mut times,
        } = payload;
        let mut entries = HashMap::with_capacity(results.len() + errors.len());
        for (key, raw) in results {
            entries.insert(key, Entry::new("batch", Outcome::Done(raw)));
        }
        for (key, raw) in errors {
            let error = command_error("batch", &raw);
            entries.insert(key, Entry::new("batch", Outcome::Failed(error)));
        }
        for (key, entry) in &mut entries {
            entry.total = totals.remove(key);
            entry.next = nexts.remove(key);
            entry.time = times.remove(key);
        }
        BatchResults {
            entries,
            batch: None,
        }
    }

    /// The typed result of a command, or its own error: [`Error::Api`] (from `result_error`),
    /// [`Error::NotExecuted`] (stopped by `halt`), [`Error::BatchRequest`] (its request failed)
    /// or [`Error::Decode`] naming the JSON path. The handle of another batch is
    /// [`Error::InvalidInput`]: these results hold this batch's own command under its key.
    pub fn get<T: DeserializeOwned>(&self, handle: &BatchHandle<T>) -> Result<T, Error> {
        if self.foreign(handle) {
            let method = self
                .entries
                .get(&handle.key)
                .map_or("batch", |e| e.method.as_str());
            return Err(Error::invalid(
                method,
                format!(
                    "the handle of command `{}` comes from another batch; these results hold this batch's own `{}`",
                    handle.key, handle.key
                ),
            ));
        }
        match handle.decode {
            Some(decode) => decode(self, &handle.key),
            None => self.decode_with(&handle.key, PhantomData::<T>),
        }
    }

    pub(crate) fn decode_with<'a, S: DeserializeSeed<'a> + Clone>(
        &'a self,
        key: &str,
        seed: S,
    ) -> Result<S::Value, Error> {
        let entry = self.entries.get(key).ok_or_else(|| Error::NotExecuted {
            command: key.to_owned(),
            method: String::new(),
        })?;
        match &entry.outcome {
            Outcome::Done(raw) => crate::response::deserialize_tracked(
                || serde_json::de::StrRead::new(raw.get()),
                seed,
            )
            .map_err(|(e, track)| {
                let (path, message) = crate::lenient::join_field_path(
                    &format!("result.result.{key}.{track}"),
                    &e.to_string(),
                );
                Error::Decode {
                    method: entry.method.clone(),
                    path,
                    message,
                    status: 200,
                }
            }),
            Outcome::Failed(api) => Err(Error::Api(Box::new(api.clone()))),
            Outcome::RequestFailed(err) => Err(Error::BatchRequest {
                command: key.to_owned(),
                source: err.clone(),
            }),
            Outcome::NotExecuted => Err(Error::NotExecuted {
                command: key.to_owned(),
                method: entry.method.clone(),
            }),
        }
    }

    /// The rows of a list command (its page), unwrapped from the method's wrapper (`tasks`,
    /// `items`) when it has one; errors as [`BatchResults::get`].
    ///
    /// ```
    /// use bitrix24::packs::core::TasksTaskListV2;
    /// let body = br#"{"result":{"result":{"tasks":{"tasks":[{"id":"8017","title":"Call"}]}},
    ///     "result_error":[],"result_total":{"tasks":120},"result_next":{"tasks":50},
    ///     "result_time":[]},"time":{}}"#;
    /// let results = bitrix24::envelope::decode_batch(body)?;
    /// let tasks = results.list_page::<TasksTaskListV2>("tasks")?;
    /// assert_eq!(tasks[0].id, Some(8017));
    /// # Ok::<(), bitrix24::Error>(())
    /// ```
    pub fn list_page<M: ListMethod>(&self, key: &str) -> Result<Vec<M::Item>, Error> {
        self.decode_with(key, ItemsSeed::<M::Item>::new(M::WRAPPER))
    }

    /// The command's raw JSON result, if it succeeded.
    pub fn raw(&self, key: &str) -> Option<&RawValue> {
        match &self.entries.get(key)?.outcome {
            Outcome::Done(raw) => Some(raw),
            _ => None,
        }
    }

    /// Whether `handle` was made by another batch than the one these results answer.
    fn foreign<T>(&self, handle: &BatchHandle<T>) -> bool {
        matches!((self.batch, handle.batch), (Some(sent), Some(made)) if sent != made)
    }

    /// The entry of the handle's command; none for the handle of another batch.
    fn entry<T>(&self, handle: &BatchHandle<T>) -> Option<&Entry> {
        if self.foreign(handle) {
            return None;
        }
        self.entries.get(&handle.key)
    }

    /// The command's error from `result_error`, if it failed (`None` for the handle of
    /// another batch, as for [`BatchResults::total`], [`BatchResults::next`] and
    /// [`BatchResults::time`]).
    pub fn error<T>(&self, handle: &BatchHandle<T>) -> Option<&ApiError> {
        match &self.entry(handle)?.outcome {
            Outcome::Failed(api) => Some(api),
            _ => None,
        }
    }

    /// `result_total` of a command (list commands).
    pub fn total<T>(&self, handle: &BatchHandle<T>) -> Option<u64> {
        self.entry(handle)?.total
    }

    /// `result_next` of a command (list commands with more rows).
    pub fn next<T>(&self, handle: &BatchHandle<T>) -> Option<u64> {
        self.entry(handle)?.next
    }

    /// `result_next` of the command under `key`.
    pub(crate) fn next_of(&self, key: &str) -> Option<u64> {
        self.entries.get(key)?.next
    }

    /// `result_time` of a command.
    pub fn time<T>(&self, handle: &BatchHandle<T>) -> Option<&TimeInfo> {
        self.entry(handle)?.time.as_ref()
    }

    /// The keys of every command, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Whether every command succeeded.
    pub fn all_ok(&self) -> bool {
        self.entries
            .values()
            .all(|e| matches!(e.outcome, Outcome::Done(_)))
    }

    /// The number of commands.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the batch had no commands.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The `result` of a `batch` call: five maps keyed by command. Each may arrive as an object,
/// as `[]` when empty, or as a list when the keys are `0..n-1`.
#[derive(Debug, Default)]
pub(crate) struct BatchPayload {
    results: HashMap<String, Box<RawValue>>,
    errors: HashMap<String, Box<RawValue>>,
    totals: HashMap<String, u64>,
    nexts: HashMap<String, u64>,
    times: HashMap<String, TimeInfo>,
}

impl BatchPayload {
    /// Whether a command failed (`result_error` is not empty).
    pub(crate) fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}

impl<'de> Deserialize<'de> for BatchPayload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// One of the five maps, in any of PHP's forms (`lenient` reads a list as index keys
        /// and `[]` as empty).
        type PhpMap<V> = Option<BTreeMap<String, V>>;
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default, deserialize_with = "lenient::option")]
            result: PhpMap<Raw>,
            #[serde(default, deserialize_with = "lenient::option")]
            result_error: PhpMap<Raw>,
            #[serde(default, deserialize_with = "lenient::option")]
            result_total: PhpMap<OrAbsent<u64>>,
            #[serde(default, deserialize_with = "lenient::option")]
            result_next: PhpMap<OrAbsent<u64>>,
            #[serde(default, deserialize_with = "lenient::option")]
            result_time: PhpMap<OrAbsent<TimeInfo>>,
        }
        fn present<V>(map: PhpMap<OrAbsent<V>>) -> HashMap<String, V> {
            map.into_iter()
                .flatten()
                .filter_map(|(k, v)| v.0.map(|v| (k, v)))
                .collect()
        }
        let w = Wire::deserialize(d)?;
        Ok(BatchPayload {
            results: w
                .result
                .into_iter()
                .flatten()
                .map(|(k, v)| (k, v.0))
                .collect(),
            errors: w
                .result_error
                .into_iter()
                .flatten()
                .map(|(k, v)| (k, v.0))
                .collect(),
            totals: present(w.result_total),
            nexts: present(w.result_next),
            times: present(w.result_time),
        })
    }
}

/// A command's result or error as sent, decoded later into its type.
struct Raw(Box<RawValue>);

impl LenientDecode for Raw {
    fn decode_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        Box::<RawValue>::deserialize(d).map(|raw| Some(Raw(raw)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::decode;

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
        let e = command_error("crm.deal.get", &p.errors["1"]);
        assert_eq!(e.code, ErrorCode::InsufficientScope);
    }
}
