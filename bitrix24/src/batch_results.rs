//! The outcome of a sent `batch`: [`BatchResults`], read by [`BatchHandle`]s, and each
//! command's outcome taken from the `batch` answer (the `payload` module reads the answer).

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{DeserializeOwned, DeserializeSeed};
use serde_json::value::RawValue;

use crate::client::Client;
use crate::error::{ApiError, Error, ErrorCode};
use crate::lenient::OrAbsent;
use crate::method::{ListMethod, Method};
use crate::response::{ItemsSeed, Response, TimeInfo};

mod payload;

pub(crate) use payload::{BatchPayload, PayloadSeed};

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

/// Why a command has no result.
#[derive(Debug)]
enum Failure {
    Failed(ApiError),
    RequestFailed(Arc<Error>),
    NotExecuted,
}

impl Failure {
    /// The error of the command under `key` of `method`.
    fn error(&self, key: &str, method: &str) -> Error {
        match self {
            Failure::Failed(api) => Error::Api(Box::new(api.clone())),
            Failure::RequestFailed(err) => Error::BatchRequest {
                command: key.to_owned(),
                source: err.clone(),
            },
            Failure::NotExecuted => Error::NotExecuted {
                command: key.to_owned(),
                method: method.to_owned(),
            },
        }
    }
}

/// One command's outcome; `R` is its result as kept (raw JSON in a [`BatchResults`]).
#[derive(Debug)]
pub(crate) struct Entry<R = Box<RawValue>> {
    method: String,
    outcome: Result<R, Failure>,
    total: Option<u64>,
    next: Option<u64>,
    time: Option<TimeInfo>,
}

impl<R> Entry<R> {
    fn new(method: &str, outcome: Result<R, Failure>) -> Self {
        Entry {
            method: method.to_owned(),
            outcome,
            total: None,
            next: None,
            time: None,
        }
    }

    /// The result, or the command's own error ([`BatchResults::get`] says which).
    pub(crate) fn into_result(self, key: &str) -> Result<R, Error> {
        let method = self.method;
        self.outcome.map_err(|f| f.error(key, &method))
    }

    /// `result_next` of the command.
    pub(crate) fn next(&self) -> Option<u64> {
        self.next
    }
}

impl<R> BatchPayload<R> {
    /// Takes the outcome of the command `key` of `method` out of the answer: its result or
    /// its error from `result_error` (a command in both failed), and its total, next and time.
    /// The client's operating-time tracker learns the time, and blocks a method the portal
    /// stopped. A command the answer does not mention was not executed.
    pub(crate) fn take(&mut self, client: &Client, key: &str, method: &str) -> Entry<R> {
        let mut entry = Entry::new(method, Err(Failure::NotExecuted));
        if let Some(raw) = self.errors.remove(key) {
            let error = command_error(method, &raw);
            if error.code == ErrorCode::OperationTimeLimit {
                client
                    .inner
                    .operating
                    .block(method, client.inner.clock.unix_now());
            }
            entry.outcome = Err(Failure::Failed(error));
        } else if let Some(result) = self.results.remove(key) {
            entry.outcome = Ok(result);
        }
        entry.total = self.totals.remove(key);
        entry.next = self.nexts.remove(key);
        if let Some(time) = self.times.remove(key) {
            client
                .inner
                .operating
                .record(method, &time, client.inner.clock.unix_now());
            entry.time = Some(time);
        }
        entry
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
                    let entry = payload.take(client, key, method);
                    self.entries.insert(key.to_owned(), entry);
                }
            }
            Err(err) => {
                let shared = Arc::new(err);
                for (key, method) in commands {
                    self.entries.insert(
                        key.to_owned(),
                        Entry::new(method, Err(Failure::RequestFailed(shared.clone()))),
                    );
                }
            }
        }
    }

    /// Marks a command that no answer mentioned (its request was never sent) as not executed.
    pub(crate) fn not_executed(&mut self, key: &str, method: &str) {
        self.entries
            .entry(key.to_owned())
            .or_insert_with(|| Entry::new(method, Err(Failure::NotExecuted)));
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
            entries.insert(key, Entry::new("batch", Ok(raw)));
        }
        for (key, raw) in errors {
            let error = command_error("batch", &raw);
            entries.insert(key, Entry::new("batch", Err(Failure::Failed(error))));
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
        let raw = match &entry.outcome {
            Ok(raw) => raw,
            Err(failure) => return Err(failure.error(key, &entry.method)),
        };
        crate::response::deserialize_tracked(|| serde_json::de::StrRead::new(raw.get()), seed)
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
            })
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
            Ok(raw) => Some(raw),
            Err(_) => None,
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
            Err(Failure::Failed(api)) => Some(api),
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
        self.entries.values().all(|e| e.outcome.is_ok())
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
