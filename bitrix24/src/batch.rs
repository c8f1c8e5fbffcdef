//! `batch`: many calls in one request (one permit of the rate limit).
//!
//! [`Batch`] takes commands of any [`Method`] types, splits them into requests of at most 50
//! commands, keeps commands linked by `$result[...]` references in the same request, runs
//! independent requests concurrently under the limiter, and hands back each command's typed
//! result or its own error.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use futures::StreamExt;
use serde::Deserialize;
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::client::{Call, Client};
use crate::envelope::{self, ItemsSeed, Response, TimeInfo};
use crate::error::{ApiError, Error, ErrorCode};
use crate::input;
use crate::lenient::{self, LenientDecode, OrAbsent};
use crate::method::{ListMethod, Method};
use crate::php_query;

/// The most commands one batch request may carry.
pub const MAX_COMMANDS: usize = 50;

/// A reference to an earlier command's result, for linked commands:
/// `BatchRef::result("get_user").key("UF_DEPARTMENT").index(0)` is
/// `$result[get_user][UF_DEPARTMENT][0]`.
///
/// ```
/// use bitrix24::BatchRef;
/// assert_eq!(BatchRef::result("get_user").key("UF_DEPARTMENT").index(0).as_str(),
///            "$result[get_user][UF_DEPARTMENT][0]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRef(String);

impl BatchRef {
    /// `$result[command]`: the command's result.
    pub fn result(command: &str) -> Self {
        BatchRef(format!("$result[{command}]"))
    }

    /// `$next[command]`: the command's `next`.
    pub fn next(command: &str) -> Self {
        BatchRef(format!("$next[{command}]"))
    }

    /// `$total[command]`: the command's `total`.
    pub fn total(command: &str) -> Self {
        BatchRef(format!("$total[{command}]"))
    }

    /// Goes into a key of the value.
    #[must_use]
    pub fn key(mut self, key: &str) -> Self {
        self.0.push('[');
        self.0.push_str(key);
        self.0.push(']');
        self
    }

    /// Goes into an element of a list.
    #[must_use]
    pub fn index(self, i: usize) -> Self {
        self.key(&i.to_string())
    }

    /// The reference text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Identifies a command in a [`Batch`] and the type of its result.
pub struct BatchHandle<T> {
    key: String,
    marker: PhantomData<fn() -> T>,
    /// How [`BatchResults::get`] decodes the result: the method's `decode_response` for a
    /// handle from [`Batch::add`], the type's own `Deserialize` when `None`.
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
    /// [`Batch::add`] never gave you.
    ///
    /// ```
    /// use bitrix24::BatchHandle;
    /// let user: BatchHandle<serde_json::Value> = BatchHandle::new("get_user");
    /// assert_eq!(user.key(), "get_user");
    /// ```
    pub fn new(key: impl Into<String>) -> Self {
        BatchHandle {
            key: key.into(),
            marker: PhantomData,
            decode: None,
        }
    }

    /// The command's key in the batch.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl<T> Clone for BatchHandle<T> {
    fn clone(&self) -> Self {
        BatchHandle {
            key: self.key.clone(),
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

#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub key: String,
    pub method: String,
    pub idempotent: bool,
    pub pairs: Vec<(String, String)>,
}

/// A batch of commands. Build it with [`Client::batch`], add commands, then [`Batch::send`].
///
/// ```no_run
/// # async fn run(client: bitrix24::Client) -> Result<(), bitrix24::Error> {
/// use bitrix24::methods::{DealGet, UserCurrent};
/// let mut batch = client.batch();
/// let me = batch.add(&UserCurrent)?;
/// let deal = batch.add(&DealGet::new(410))?;
/// let results = batch.send().await?;
/// println!("{:?} {:?}", results.get(&me)?, results.get(&deal));
/// # Ok(()) }
/// ```
#[must_use]
pub struct Batch<'c> {
    client: &'c Client,
    commands: Vec<Command>,
    index: HashMap<String, usize>,
    halt: bool,
}

impl fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("commands", &self.commands.len())
            .field("halt", &self.halt)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a batch.
    pub fn batch(&self) -> Batch<'_> {
        Batch {
            client: self,
            commands: Vec::new(),
            index: HashMap::new(),
            halt: false,
        }
    }

    /// Sends many independent calls of one method type as batches (50 per request, requests in
    /// parallel under the limiter) and returns each call's result, in order.
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24::Client) -> Result<(), bitrix24::Error> {
    /// use bitrix24::methods::DealGet;
    /// let deals = client.send_all((1..=120).map(DealGet::new)).await?;
    /// assert_eq!(deals.len(), 120);
    /// # Ok(()) }
    /// ```
    pub async fn send_all<M, I>(&self, methods: I) -> Result<Vec<Result<M::Response, Error>>, Error>
    where
        M: Method,
        I: IntoIterator<Item = M>,
    {
        let mut batch = self.batch();
        let handles = methods
            .into_iter()
            .map(|m| batch.add(&m))
            .collect::<Result<Vec<_>, _>>()?;
        let results = batch.send().await?;
        Ok(handles.iter().map(|h| results.get(h)).collect())
    }
}

impl Batch<'_> {
    /// Stops each request at its first failing command (`halt=1`), and sends the requests one
    /// after another, stopping at the first that had a failure.
    pub fn halt(mut self, halt: bool) -> Self {
        self.halt = halt;
        self
    }

    /// The number of commands.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether there are no commands.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Adds a command under an automatic key (`c0`, `c1`, ...).
    pub fn add<M: Method>(&mut self, method: &M) -> Result<BatchHandle<M::Response>, Error> {
        let key = format!("c{}", self.commands.len());
        self.add_named(&key, method)
    }

    /// Adds a command under `key` (letters, digits, `_`), which other commands may reference.
    pub fn add_named<M: Method>(
        &mut self,
        key: &str,
        method: &M,
    ) -> Result<BatchHandle<M::Response>, Error> {
        self.add_linked(key, method, std::iter::empty())
    }

    /// Adds a command whose params are partly taken from earlier commands' results: each link
    /// sets the bracket key (`ID`, `filter[>ID]`, `fields[COMPANY_ID]`) to a [`BatchRef`].
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24::Client) -> Result<(), bitrix24::Error> {
    /// use bitrix24::{BatchRef, methods::{UserCurrent, DealList}};
    /// let mut batch = client.batch();
    /// batch.add_named("me", &UserCurrent)?;
    /// let mine = batch.add_linked("mine", &DealList::new(),
    ///     [("filter[ASSIGNED_BY_ID]", BatchRef::result("me").key("ID"))])?;
    /// let results = batch.send().await?;
    /// println!("{} deals", results.get(&mine)?.len());
    /// # Ok(()) }
    /// ```
    pub fn add_linked<'l, M: Method>(
        &mut self,
        key: &str,
        method: &M,
        links: impl IntoIterator<Item = (&'l str, BatchRef)>,
    ) -> Result<BatchHandle<M::Response>, Error> {
        let links: Vec<(&str, BatchRef)> = links.into_iter().collect();
        let params = input::method_params(method)?;
        self.push(key, M::NAME, M::IDEMPOTENT, &params, &links)?;
        Ok(BatchHandle {
            key: key.to_owned(),
            marker: PhantomData,
            decode: Some(decode_command::<M>),
        })
    }

    /// Adds an untyped command (a method without a typed binding).
    pub fn add_raw(
        &mut self,
        key: &str,
        method: &str,
        params: Value,
    ) -> Result<BatchHandle<Value>, Error> {
        input::validate_method_name(method)?;
        let params = input::params_object(method, params)?;
        let idempotent = crate::idempotency::untyped_idempotent(method);
        self.push(key, method, idempotent, &params, &[])?;
        Ok(BatchHandle {
            key: key.to_owned(),
            marker: PhantomData,
            decode: None,
        })
    }

    fn push(
        &mut self,
        key: &str,
        method: &str,
        idempotent: bool,
        params: &serde_json::Map<String, Value>,
        links: &[(&str, BatchRef)],
    ) -> Result<(), Error> {
        if method.eq_ignore_ascii_case("batch") {
            return Err(Error::invalid(method, "a batch cannot contain a batch"));
        }
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::invalid(
                method,
                format!("batch key `{key}` must be letters, digits and `_`"),
            ));
        }
        if self.index.contains_key(key) {
            return Err(Error::invalid(
                method,
                format!("batch key `{key}` is used twice"),
            ));
        }
        if let Some(path) = php_query::empty_container(params) {
            return Err(Error::invalid(
                method,
                format!(
                    "`{path}` is empty; a batch command is a query string, which cannot carry an empty list or object (PHP drops it): leave it out, or send this call on its own"
                ),
            ));
        }
        let mut pairs = php_query::flatten(params);
        for (link_key, reference) in links {
            let nested = format!("{link_key}[");
            pairs.retain(|(k, _)| k != link_key && !k.starts_with(&nested));
            pairs.push(((*link_key).to_owned(), reference.as_str().to_owned()));
        }
        self.push_command(Command {
            key: key.to_owned(),
            method: method.to_owned(),
            idempotent,
            pairs,
        })
    }

    pub(crate) fn push_command(&mut self, command: Command) -> Result<(), Error> {
        for (_, value) in &command.pairs {
            for target in php_query::references(value) {
                if !self.index.contains_key(target) {
                    return Err(Error::invalid(
                        &command.method,
                        format!(
                            "command `{}` refers to `{target}`, which is not an earlier command of this batch",
                            command.key
                        ),
                    ));
                }
            }
        }
        self.index.insert(command.key.clone(), self.commands.len());
        self.commands.push(command);
        Ok(())
    }

    /// Groups linked commands and packs the groups, in order, into requests of at most 50.
    pub(crate) fn chunks(&self) -> Result<Vec<Vec<usize>>, Error> {
        fn find(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        let n = self.commands.len();
        let mut parent: Vec<usize> = (0..n).collect();
        for (i, command) in self.commands.iter().enumerate() {
            for (_, value) in &command.pairs {
                for target in php_query::references(value) {
                    let j = self.index[target];
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
            }
        }
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut group_of: HashMap<usize, usize> = HashMap::new();
        for i in 0..n {
            let root = find(&mut parent, i);
            let g = *group_of.entry(root).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(i);
        }
        let mut chunks: Vec<Vec<usize>> = Vec::new();
        let mut current: Vec<usize> = Vec::new();
        for group in groups {
            if group.len() > MAX_COMMANDS {
                return Err(Error::invalid(
                    "batch",
                    format!(
                        "{} commands are linked by $result references (starting at `{}`); one request holds at most {MAX_COMMANDS}",
                        group.len(),
                        self.commands[group[0]].key
                    ),
                ));
            }
            if current.len() + group.len() > MAX_COMMANDS {
                chunks.push(std::mem::take(&mut current));
            }
            current.extend(group);
        }
        if !current.is_empty() {
            chunks.push(current);
        }
        for chunk in &mut chunks {
            chunk.sort_unstable();
        }
        Ok(chunks)
    }

    /// Sends the batch. An error here means the whole batch could not be prepared; each
    /// command's own outcome is in the [`BatchResults`].
    pub async fn send(self) -> Result<BatchResults, Error> {
        let chunks = self.chunks()?;
        let client = self.client;
        let halt = self.halt;
        let mut results = BatchResults {
            entries: HashMap::with_capacity(self.commands.len()),
        };
        let commands = Arc::new(self.commands);
        if halt {
            for chunk in chunks {
                let failed = send_chunk(client, &commands, &chunk, true, &mut results).await;
                if failed {
                    break;
                }
            }
        } else {
            let outcomes: Vec<(Vec<usize>, ChunkOutcome)> = futures::stream::iter(chunks)
                .map(|chunk| {
                    let commands = commands.clone();
                    async move {
                        let outcome = request_chunk(client, &commands, &chunk, false).await;
                        (chunk, outcome)
                    }
                })
                .buffer_unordered(client.inner.batch_concurrency)
                .collect()
                .await;
            for (chunk, outcome) in outcomes {
                absorb(client, &commands, &chunk, outcome, &mut results);
            }
        }
        for command in commands.iter() {
            results
                .entries
                .entry(command.key.clone())
                .or_insert_with(|| Entry::new(&command.method, Outcome::NotExecuted));
        }
        Ok(results)
    }
}

async fn send_chunk(
    client: &Client,
    commands: &[Command],
    chunk: &[usize],
    halt: bool,
    results: &mut BatchResults,
) -> bool {
    let outcome = request_chunk(client, commands, chunk, halt).await;
    let failed = match &outcome {
        Ok(resp) => !resp.result.errors.is_empty(),
        Err(_) => true,
    };
    absorb(client, commands, chunk, outcome, results);
    failed
}

type ChunkOutcome = Result<Response<BatchPayload>, Error>;

pub(crate) async fn request_chunk(
    client: &Client,
    commands: &[Command],
    chunk: &[usize],
    halt: bool,
) -> Result<Response<BatchPayload>, Error> {
    let mut cmd = serde_json::Map::with_capacity(chunk.len());
    for &i in chunk {
        let c = &commands[i];
        cmd.insert(
            c.key.clone(),
            Value::String(php_query::command(&c.method, &c.pairs)),
        );
    }
    let body = serde_json::to_vec(&serde_json::json!({ "halt": i32::from(halt), "cmd": cmd }))
        .map_err(|e| Error::invalid("batch", e.to_string()))?;
    let mut gated: Vec<&str> = chunk.iter().map(|&i| commands[i].method.as_str()).collect();
    gated.sort_unstable();
    gated.dedup();
    let call = Call {
        name: "batch",
        gated: &gated,
        v3_name: None,
        idempotent: chunk.iter().all(|&i| commands[i].idempotent),
        body,
    };
    client
        .execute(&call, &|status, body| {
            envelope::decode("batch", status, body, PhantomData::<BatchPayload>)
        })
        .await
}

fn absorb(
    client: &Client,
    commands: &[Command],
    chunk: &[usize],
    outcome: Result<Response<BatchPayload>, Error>,
    results: &mut BatchResults,
) {
    match outcome {
        Ok(resp) => {
            let mut payload = resp.result;
            for &i in chunk {
                let c = &commands[i];
                let mut entry = Entry::new(&c.method, Outcome::NotExecuted);
                if let Some(raw) = payload.errors.remove(&c.key) {
                    let error = command_error(&c.method, &raw);
                    if error.code == ErrorCode::OperationTimeLimit {
                        client
                            .inner
                            .operating
                            .block(&c.method, client.inner.clock.unix_now());
                    }
                    entry.outcome = Outcome::Failed(error);
                } else if let Some(raw) = payload.results.remove(&c.key) {
                    entry.outcome = Outcome::Done(raw);
                }
                entry.total = payload.totals.remove(&c.key);
                entry.next = payload.nexts.remove(&c.key);
                if let Some(time) = payload.times.remove(&c.key) {
                    client
                        .inner
                        .operating
                        .record(&c.method, &time, client.inner.clock.unix_now());
                    entry.time = Some(time);
                }
                results.entries.insert(c.key.clone(), entry);
            }
        }
        Err(err) => {
            let shared = Arc::new(err);
            for &i in chunk {
                let c = &commands[i];
                results.entries.insert(
                    c.key.clone(),
                    Entry::new(&c.method, Outcome::RequestFailed(shared.clone())),
                );
            }
        }
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

/// The outcome of every command of a sent [`Batch`].
#[derive(Debug)]
pub struct BatchResults {
    entries: HashMap<String, Entry>,
}

impl BatchResults {
    pub(crate) fn from_payload(
        client: &Client,
        commands: &[Command],
        payload: BatchPayload,
    ) -> BatchResults {
        let mut results = BatchResults {
            entries: HashMap::with_capacity(commands.len()),
        };
        let chunk: Vec<usize> = (0..commands.len()).collect();
        absorb(
            client,
            commands,
            &chunk,
            Ok(Response {
                result: payload,
                total: None,
                next: None,
                time: None,
            }),
            &mut results,
        );
        results
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
        BatchResults { entries }
    }

    /// The typed result of a command, or its own error: [`Error::Api`] (from `result_error`),
    /// [`Error::NotExecuted`] (stopped by `halt`), [`Error::BatchRequest`] (its request failed)
    /// or [`Error::Decode`] naming the JSON path.
    pub fn get<T: DeserializeOwned>(&self, handle: &BatchHandle<T>) -> Result<T, Error> {
        match handle.decode {
            Some(decode) => decode(self, &handle.key),
            None => self.decode_with(&handle.key, PhantomData::<T>),
        }
    }

    pub(crate) fn decode_with<'a, S: DeserializeSeed<'a>>(
        &'a self,
        key: &str,
        seed: S,
    ) -> Result<S::Value, Error> {
        let entry = self.entries.get(key).ok_or_else(|| Error::NotExecuted {
            command: key.to_owned(),
            method: String::new(),
        })?;
        match &entry.outcome {
            Outcome::Done(raw) => {
                let mut de = serde_json::Deserializer::from_str(raw.get());
                let mut track = serde_path_to_error::Track::new();
                seed.deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track))
                    .map_err(|e| Error::Decode {
                        method: entry.method.clone(),
                        path: format!("result.result.{key}.{}", track.path())
                            .trim_end_matches(['.', '?'])
                            .to_owned(),
                        message: e.to_string(),
                        status: 200,
                    })
            }
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
    /// use bitrix24::methods::TaskList;
    /// let body = br#"{"result":{"result":{"tasks":{"tasks":[{"id":"8017","title":"Call"}]}},
    ///     "result_error":[],"result_total":{"tasks":120},"result_next":{"tasks":50},
    ///     "result_time":[]},"time":{}}"#;
    /// let results = bitrix24::envelope::decode_batch(body)?;
    /// let tasks = results.list_page::<TaskList>("tasks")?;
    /// assert_eq!(tasks[0]["id"], "8017");
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

    /// The command's error from `result_error`, if it failed.
    pub fn error<T>(&self, handle: &BatchHandle<T>) -> Option<&ApiError> {
        match &self.entries.get(&handle.key)?.outcome {
            Outcome::Failed(api) => Some(api),
            _ => None,
        }
    }

    /// `result_total` of a command (list commands).
    pub fn total<T>(&self, handle: &BatchHandle<T>) -> Option<u64> {
        self.entries.get(&handle.key)?.total
    }

    /// `result_next` of a command (list commands with more rows).
    pub fn next<T>(&self, handle: &BatchHandle<T>) -> Option<u64> {
        self.entries.get(&handle.key)?.next
    }

    /// `result_next` of the command under `key`.
    pub(crate) fn next_of(&self, key: &str) -> Option<u64> {
        self.entries.get(key)?.next
    }

    /// `result_time` of a command.
    pub fn time<T>(&self, handle: &BatchHandle<T>) -> Option<&TimeInfo> {
        self.entries.get(&handle.key)?.time.as_ref()
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

    #[test]
    fn payload_from_docs_and_php_quirks() {
        let body = r#"{"result":{"result":{"get_user":{"ID":"1","UF_DEPARTMENT":[1]},"get_department":[{"ID":"1","NAME":"DEMO","SORT":500}]},"result_error":[],"result_total":{"get_department":1},"result_next":[],"result_time":{"get_user":{"start":1724916859.46156,"operating":0}}},"time":{"start":1}}"#;
        let r =
            envelope::decode("batch", 200, body.as_bytes(), PhantomData::<BatchPayload>).unwrap();
        let p = r.result;
        assert_eq!(p.results.len(), 2);
        assert!(p.errors.is_empty());
        assert_eq!(p.totals.get("get_department"), Some(&1));
        assert_eq!(p.times["get_user"].operating, Some(0.0));

        // Keys 0..n-1 come back as JSON lists; failures in result_error.
        let body = r#"{"result":{"result":{"35943":{"ID":"35943"}},"result_error":[{"error":"","error_description":"Not found"},{"error":"insufficient_scope","error_description":""}],"result_total":[],"result_next":[],"result_time":[]}}"#;
        let p = envelope::decode("batch", 200, body.as_bytes(), PhantomData::<BatchPayload>)
            .unwrap()
            .result;
        assert_eq!(p.errors.len(), 2);
        let e = command_error("crm.deal.get", &p.errors["1"]);
        assert_eq!(e.code, ErrorCode::InsufficientScope);
    }
}
