//! `batch`: many calls in one request (one permit of the rate limit).
//!
//! [`Batch`] takes commands of any [`Method`] types, splits them into requests of at most 50
//! commands, keeps commands linked by `$result[...]` references in the same request, runs
//! independent requests concurrently under the limiter, and hands back each command's typed
//! result or its own error.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use serde::ser::Error as _;
use serde_json::Value;

use crate::batch_results::BatchPayload;
use crate::client::{Call, Client, Decoder};
use crate::error::Error;
use crate::input;
use crate::method::Method;
use crate::php_query;
use crate::response::{self, Response};

pub use crate::batch_results::{BatchHandle, BatchResults};

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

/// The value of an `id` parameter of a generated request: a number, or the result of an earlier
/// id-returning command of the same batch (`CrmDealUserfieldGet::new(&added)` with `added` the
/// [`BatchHandle<u64>`] of a `crm.deal.userfield.add`), sent as `$result[key]`. (A command
/// whose result holds the id deeper, such as `crm.item.add`, is linked with
/// [`Batch::add_linked`] and `BatchRef::result(key).key("item").key("id")`.)
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitrix24::Error> {
/// # let emu = bitrix24_emulator::Emulator::builder().webhook(1, "code").start().await.unwrap();
/// # let client = bitrix24::Client::webhook(&emu.webhook_url())?;
/// use bitrix24::packs::core::{CrmDealUserfieldAdd, CrmDealUserfieldGet, CrmUserField};
/// let mut batch = client.batch();
/// let field = CrmUserField::new().field_name("LINKED").user_type_id("string");
/// let added = batch.add(&CrmDealUserfieldAdd::new(field))?;
/// let got = batch.add(&CrmDealUserfieldGet::new(&added))?; // id = $result[c0], in the same request
/// let results = batch.send().await?;
/// assert_eq!(results.get(&got)?.id, Some(results.get(&added)?));
/// # Ok(()) }
/// ```
///
/// A handle means its command only in the batch that made it, so anywhere else the request is
/// refused before sending ([`Error::InvalidInput`]): in a plain `send` the portal would get the
/// text `$result[c0]`, and in another batch it would read that batch's own `c0`. Pass the id
/// itself there (`results.get(&added)?`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Id(IdValue);

#[derive(Debug, Clone, PartialEq, Eq)]
enum IdValue {
    Number(u64),
    /// `$result[key]` of the batch numbered `batch` (`None`: a handle made by
    /// [`BatchHandle::new`], valid in any batch).
    Result {
        key: String,
        batch: Option<u64>,
    },
}

thread_local! {
    /// The number of the batch whose command is being serialized on this thread
    /// ([`Batch::add_linked`]), for the handles an [`Id`] may hold.
    static BUILDING: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Marks this thread as serializing a command of batch `serial` until dropped.
struct Building(Option<u64>);

impl Building {
    fn enter(serial: u64) -> Self {
        Building(BUILDING.replace(Some(serial)))
    }
}

impl Drop for Building {
    fn drop(&mut self) {
        BUILDING.set(self.0);
    }
}

/// Numbers the batches of this process, so a handle knows which one made it.
static NEXT_BATCH: AtomicU64 = AtomicU64::new(0);

impl Id {
    /// The id, when it is a number (not a batch reference).
    pub fn number(&self) -> Option<u64> {
        match &self.0 {
            IdValue::Number(n) => Some(*n),
            IdValue::Result { .. } => None,
        }
    }
}

impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (key, made_by) = match &self.0 {
            IdValue::Number(n) => return serializer.serialize_u64(*n),
            IdValue::Result { key, batch } => (key, *batch),
        };
        match (BUILDING.get(), made_by) {
            (None, _) => Err(S::Error::custom(format!(
                "the id is the handle of batch command `{key}`, which means something only inside the batch that made it; pass the id itself (`results.get(&handle)?`) outside that batch"
            ))),
            (Some(building), Some(made_by)) if building != made_by => {
                Err(S::Error::custom(format!(
                    "the id is the handle of command `{key}` of another batch; here `$result[{key}]` would read this batch's own `{key}`: pass the id itself (`results.get(&handle)?`)"
                )))
            }
            _ => serializer.serialize_str(BatchRef::result(key).as_str()),
        }
    }
}

/// What an `id` parameter takes: a `u64`, or the handle of an id-returning batch command.
pub trait IdArg {
    /// The parameter value.
    fn into_id(self) -> Id;
}

impl IdArg for u64 {
    fn into_id(self) -> Id {
        Id(IdValue::Number(self))
    }
}

impl IdArg for Id {
    fn into_id(self) -> Id {
        self
    }
}

impl IdArg for &BatchHandle<u64> {
    fn into_id(self) -> Id {
        Id(IdValue::Result {
            key: self.key().to_owned(),
            batch: self.batch(),
        })
    }
}

impl IdArg for BatchHandle<u64> {
    fn into_id(self) -> Id {
        (&self).into_id()
    }
}

/// Refuses a link key whose parameter (`fields` of `fields[COMPANY_ID]`) the method does not
/// document, when the specs know the method: `ID` for `crm.deal.get`, whose parameter is `id`,
/// would send both.
fn check_link_keys(method: &str, links: &[(&str, BatchRef)]) -> Result<(), Error> {
    let Some(info) = crate::catalog::method_info(method) else {
        return Ok(());
    };
    for (key, _) in links {
        let param = key.split('[').next().unwrap_or(key);
        if info.param(param).is_some() {
            continue;
        }
        let hint = match info
            .params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(param))
        {
            Some(p) => format!("; did you mean `{}`?", p.name),
            None => String::new(),
        };
        return Err(Error::invalid(
            method,
            format!(
                "link key `{key}` names no parameter of {method} (its parameters: {}){hint}",
                info.params
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(())
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
/// use bitrix24::packs::core::{CrmItemGet, UserCurrent};
/// let mut batch = client.batch();
/// let me = batch.add(&UserCurrent::new())?;
/// let deal = batch.add(&CrmItemGet::new(2, 410))?; // `entityTypeId` 2: a deal
/// let results = batch.send().await?;
/// println!("{:?} {:?}", results.get(&me)?, results.get(&deal));
/// # Ok(()) }
/// ```
#[must_use]
pub struct Batch<'c> {
    client: &'c Client,
    /// This batch's number ([`NEXT_BATCH`]), carried by its handles.
    serial: u64,
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
            serial: NEXT_BATCH.fetch_add(1, Ordering::Relaxed),
            commands: Vec::new(),
            index: HashMap::new(),
            halt: false,
        }
    }

    /// Sends many independent calls of one method type as batches (50 per request, requests in
    /// parallel under the limiter) and returns each call's result, in order. Like every call, it
    /// borrows the requests.
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24::Client) -> Result<(), bitrix24::Error> {
    /// use bitrix24::packs::core::CrmItemGet;
    /// let requests: Vec<CrmItemGet> = (1..=120).map(|id| CrmItemGet::new(2, id)).collect();
    /// let deals = client.send_all(&requests).await?;
    /// assert_eq!(deals.len(), 120);
    /// # Ok(()) }
    /// ```
    pub async fn send_all<'m, M, I>(
        &self,
        methods: I,
    ) -> Result<Vec<Result<M::Response, Error>>, Error>
    where
        M: Method + 'm,
        I: IntoIterator<Item = &'m M>,
    {
        let mut batch = self.batch();
        let handles = methods
            .into_iter()
            .map(|m| batch.add(m))
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
    /// use bitrix24::BatchRef;
    /// use bitrix24::packs::core::{CrmItemList, UserCurrent};
    /// let mut batch = client.batch();
    /// batch.add_named("me", &UserCurrent::new())?;
    /// let mine = batch.add_linked("mine", &CrmItemList::new(2),
    ///     [("filter[assignedById]", BatchRef::result("me").key("ID"))])?;
    /// let results = batch.send().await?;
    /// println!("{} deals", results.get(&mine)?.items.len());
    /// # Ok(()) }
    /// ```
    pub fn add_linked<'l, M: Method>(
        &mut self,
        key: &str,
        method: &M,
        links: impl IntoIterator<Item = (&'l str, BatchRef)>,
    ) -> Result<BatchHandle<M::Response>, Error> {
        let links: Vec<(&str, BatchRef)> = links.into_iter().collect();
        check_link_keys(M::NAME, &links)?;
        let params = {
            let _building = Building::enter(self.serial);
            input::method_params(method)?
        };
        self.push(key, M::NAME, M::IDEMPOTENT, &params, &links)?;
        Ok(BatchHandle::for_method::<M>(key, self.serial))
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
        Ok(BatchHandle::new(key))
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
        let mut results = BatchResults::with_capacity(self.commands.len()).of_batch(self.serial);
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
                .buffer_unordered(in_flight(client))
                .collect()
                .await;
            for (chunk, outcome) in outcomes {
                results.absorb(client, sent(&commands, &chunk), outcome);
            }
        }
        for command in commands.iter() {
            results.not_executed(&command.key, &command.method);
        }
        Ok(results)
    }
}

/// How many requests of one batch (or list walk) are in flight at once: with a limiter, its
/// burst less the headroom (`RateLimiter::in_flight`): the burst goes at once, and the
/// limiter hands out the rest at the drain rate; without one, the client's batch concurrency.
pub(crate) fn in_flight(client: &Client) -> usize {
    let inner = &client.inner;
    inner
        .limiter
        .as_ref()
        .map_or(inner.batch_concurrency, crate::RateLimiter::in_flight)
        .max(1)
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
        Ok(resp) => resp.result.has_errors(),
        Err(_) => true,
    };
    results.absorb(client, sent(commands, chunk), outcome);
    failed
}

/// The commands of `chunk`, as their results are recorded: (key, method).
fn sent<'a>(
    commands: &'a [Command],
    chunk: &'a [usize],
) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    chunk
        .iter()
        .map(|&i| (commands[i].key.as_str(), commands[i].method.as_str()))
}

type ChunkOutcome = Result<Response<BatchPayload>, Error>;

pub(crate) async fn request_chunk(
    client: &Client,
    commands: &[Command],
    chunk: &[usize],
    halt: bool,
) -> Result<Response<BatchPayload>, Error> {
    let decode =
        |status, body: &[u8]| response::decode("batch", status, body, PhantomData::<BatchPayload>);
    request_chunk_with(client, commands, chunk, halt, &decode).await
}

/// [`request_chunk`] with the answer read by `decode` (a walk reads its pages straight from
/// the body).
pub(crate) async fn request_chunk_with<T>(
    client: &Client,
    commands: &[Command],
    chunk: &[usize],
    halt: bool,
    decode: &Decoder<'_, T>,
) -> Result<Response<T>, Error> {
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
    client.execute(&call, decode).await
}
