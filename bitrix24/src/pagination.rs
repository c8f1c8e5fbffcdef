//! List pagination as `futures::Stream`s with bounded memory.
//!
//! - **Offset**: the first page learns `total`; the other pages go 50 list commands per batch
//!   request, several requests in flight under the limiter. Rows inserted or deleted while it
//!   runs can shift pages.
//! - **Keyset**: `order {ID: ASC}`, `start=-1` (no counting), each of the 50 commands of a batch
//!   filtered by `>ID` of the previous command's last row through a `$result[...]` reference:
//!   up to 2,500 rows per request, and no row skipped or repeated when rows are added or
//!   removed meanwhile.
//!
//! [`Strategy::Auto`] takes keyset when the method supports it and the caller set no `order`.

use futures::stream::{self, BoxStream, StreamExt};
use serde_json::{Map, Value};

use crate::batch::{BatchResults, Command, MAX_COMMANDS};
use crate::client::{Call, Client, json_kind};
use crate::envelope::{self, ItemsSeed};
use crate::error::Error;
use crate::method::{Keyset, ListMethod};
use crate::php_query;

/// Rows per page on v2 (fixed by the portal).
pub const PAGE_SIZE: usize = 50;

/// How a list is walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Strategy {
    /// Keyset when the method supports it and no `order` was set; offset otherwise.
    #[default]
    Auto,
    /// `start` offsets, pages fetched in parallel batches.
    Offset,
    /// Chained `>ID` filters, ascending by id.
    Keyset,
}

impl Client {
    /// Streams every row of a list method (see [`Strategy::Auto`]).
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24::Client) -> Result<(), bitrix24::Error> {
    /// use futures::TryStreamExt;
    /// use bitrix24::methods::DealList;
    /// let mut deals = client.stream(DealList::new().select(["ID", "TITLE"]));
    /// while let Some(deal) = deals.try_next().await? {
    ///     println!("{:?}", deal.get("TITLE"));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream<M>(&self, method: M) -> BoxStream<'static, Result<M::Item, Error>>
    where
        M: ListMethod + 'static,
    {
        self.stream_with(method, Strategy::Auto)
    }

    /// Streams every row with the given strategy.
    #[allow(clippy::needless_pass_by_value)] // by value so builder chains read naturally
    pub fn stream_with<M>(
        &self,
        method: M,
        strategy: Strategy,
    ) -> BoxStream<'static, Result<M::Item, Error>>
    where
        M: ListMethod + 'static,
    {
        let params = match serde_json::to_value(&method) {
            Ok(Value::Object(map)) => map,
            Ok(Value::Null) => Map::new(),
            Ok(other) => {
                return error_stream(Error::invalid(
                    M::NAME,
                    format!("params must be a JSON object, got {}", json_kind(&other)),
                ));
            }
            Err(e) => return error_stream(Error::invalid(M::NAME, e.to_string())),
        };
        if let Err(m) = method.validate() {
            return error_stream(Error::invalid(M::NAME, m));
        }
        // Pages after the first travel inside batch commands (query strings).
        if let Some(path) = crate::php_query::empty_container(&params) {
            return error_stream(Error::invalid(
                M::NAME,
                format!(
                    "`{path}` is empty; pages fetched by batch cannot carry an empty list or object: leave it out"
                ),
            ));
        }
        let has_order = find_key(&params, "order").is_some();
        let keyset = match (strategy, M::KEYSET) {
            (Strategy::Keyset, Some(_)) if has_order => {
                return error_stream(Error::invalid(
                    M::NAME,
                    "keyset pagination orders by id: remove `order`, or use Strategy::Offset",
                ));
            }
            (Strategy::Keyset, Some(k)) => Some(k),
            (Strategy::Keyset, None) => {
                return error_stream(Error::invalid(
                    M::NAME,
                    "this method cannot be walked by id (no keyset in its spec)",
                ));
            }
            (Strategy::Auto, Some(k)) if !has_order => Some(k),
            _ => None,
        };
        match keyset {
            Some(k) => keyset_stream::<M>(self.clone(), &params, k),
            None => offset_stream::<M>(self.clone(), params),
        }
    }

    /// Collects every row of a list method into a `Vec`.
    pub async fn list_all<M>(&self, method: M) -> Result<Vec<M::Item>, Error>
    where
        M: ListMethod + 'static,
    {
        use futures::TryStreamExt;
        self.stream(method).try_collect().await
    }
}

fn error_stream<T: Send + 'static>(e: Error) -> BoxStream<'static, Result<T, Error>> {
    stream::once(async move { Err(e) }).boxed()
}

/// The existing key named `name` in any case (`filter`, `FILTER`), if any.
fn find_key(params: &Map<String, Value>, name: &str) -> Option<String> {
    params
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
}

/// One page by a plain call.
async fn fetch_page<M: ListMethod>(
    client: &Client,
    params: &Map<String, Value>,
) -> Result<(Vec<M::Item>, Option<u64>, Option<u64>), Error> {
    let call = Call {
        name: M::NAME,
        gated: &[M::NAME],
        v3_name: None,
        idempotent: true,
        body: serde_json::to_vec(params).map_err(|e| Error::invalid(M::NAME, e.to_string()))?,
    };
    let resp = client
        .execute(&call, &|status, body| {
            envelope::decode(M::NAME, status, body, ItemsSeed::<M::Item>::new(M::WRAPPER))
        })
        .await?;
    Ok((resp.result, resp.total, resp.next))
}

/// Several pages by one batch request: `commands` are sent as is; each command's rows are
/// decoded on demand, in order, by [`BatchPages::page`].
async fn fetch_batch(client: &Client, commands: Vec<Command>) -> Result<BatchPages, Error> {
    let indices: Vec<usize> = (0..commands.len()).collect();
    let payload = crate::batch::request_chunk(client, &commands, &indices, false).await?;
    let results = BatchResults::from_payload(client, &commands, payload.result);
    Ok(BatchPages { commands, results })
}

struct BatchPages {
    commands: Vec<Command>,
    results: BatchResults,
}

impl BatchPages {
    fn page<M: ListMethod>(&self, i: usize) -> Result<Vec<M::Item>, Error> {
        self.results
            .decode_with(&self.commands[i].key, ItemsSeed::<M::Item>::new(M::WRAPPER))
    }

    fn all<M: ListMethod>(&self) -> Result<Vec<M::Item>, Error> {
        let mut out = Vec::with_capacity(self.commands.len() * PAGE_SIZE);
        for i in 0..self.commands.len() {
            out.extend(self.page::<M>(i)?);
        }
        Ok(out)
    }
}

fn offset_stream<M: ListMethod + 'static>(
    client: Client,
    params: Map<String, Value>,
) -> BoxStream<'static, Result<M::Item, Error>> {
    let mut first = params.clone();
    first.insert("start".into(), Value::from(0));
    let first_client = client.clone();
    stream::once(async move { fetch_page::<M>(&first_client, &first).await })
        .flat_map(move |page| match page {
            Err(e) => error_stream(e),
            Ok((items, total, next)) => {
                let head = stream::iter(items.into_iter().map(Ok));
                let Some(next) = next else {
                    return head.boxed();
                };
                let Some(total) = total else {
                    // No total to plan from: follow `next` one page at a time.
                    return head
                        .chain(follow_next::<M>(client.clone(), params.clone(), next))
                        .boxed();
                };
                let base = php_query::flatten(&without_key(&params, "start"));
                let starts: Vec<u64> = (PAGE_SIZE as u64..total).step_by(PAGE_SIZE).collect();
                let batches: Vec<Vec<u64>> =
                    starts.chunks(MAX_COMMANDS).map(<[u64]>::to_vec).collect();
                let client = client.clone();
                let concurrency = client.inner.batch_concurrency;
                let rest = stream::iter(batches)
                    .map(move |starts| {
                        let client = client.clone();
                        let commands: Vec<Command> = starts
                            .iter()
                            .map(|start| {
                                let mut pairs = base.clone();
                                pairs.push(("start".into(), start.to_string()));
                                Command {
                                    key: format!("p{start}"),
                                    method: M::NAME.to_owned(),
                                    idempotent: true,
                                    pairs,
                                }
                            })
                            .collect();
                        async move { fetch_batch(&client, commands).await?.all::<M>() }
                    })
                    .buffered(concurrency)
                    .flat_map(|rows| match rows {
                        Ok(rows) => stream::iter(rows.into_iter().map(Ok)).boxed(),
                        Err(e) => error_stream(e),
                    });
                head.chain(rest).boxed()
            }
        })
        .boxed()
}

/// Pages one by one from `start`, for lists that report `next` but no `total`.
fn follow_next<M: ListMethod + 'static>(
    client: Client,
    params: Map<String, Value>,
    start: u64,
) -> BoxStream<'static, Result<M::Item, Error>> {
    stream::unfold(Some(start), move |start| {
        let (client, params) = (client.clone(), params.clone());
        async move {
            let start = start?;
            let mut page = params;
            page.insert("start".into(), Value::from(start));
            match fetch_page::<M>(&client, &page).await {
                Ok((rows, _, next)) => Some((Ok(rows), next)),
                Err(e) => Some((Err(e), None)),
            }
        }
    })
    .flat_map(|rows| match rows {
        Ok(rows) => stream::iter(rows.into_iter().map(Ok)).boxed(),
        Err(e) => error_stream(e),
    })
    .boxed()
}

fn without_key(params: &Map<String, Value>, name: &str) -> Map<String, Value> {
    params
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case(name))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

struct KeysetState {
    client: Client,
    /// Params with `order` and `start` set, without the `>id` condition.
    params: Map<String, Value>,
    filter_key: String,
    /// `>ID` (or `>id`).
    gt: String,
    last: u64,
    first: bool,
    done: bool,
    /// An error met after some rows of the same batch were read: those rows go out first.
    pending: Option<Error>,
}

fn keyset_stream<M: ListMethod + 'static>(
    client: Client,
    params: &Map<String, Value>,
    keyset: Keyset,
) -> BoxStream<'static, Result<M::Item, Error>> {
    let order_key = find_key(params, "order").unwrap_or_else(|| "order".to_owned());
    let filter_key = find_key(params, "filter").unwrap_or_else(|| "filter".to_owned());
    let mut params = without_key(params, "start");
    params.insert(
        order_key,
        Value::Object(Map::from_iter([(
            keyset.request_field.to_owned(),
            Value::from("ASC"),
        )])),
    );
    params.insert("start".into(), Value::from(-1));
    // The walk needs each row's id: add it to an explicit `select` that lacks it.
    if let Some(select_key) = find_key(&params, "select")
        && let Some(Value::Array(fields)) = params.get_mut(&select_key)
    {
        let named = |f: &Value| {
            f.as_str().is_some_and(|f| {
                f == "*"
                    || f.eq_ignore_ascii_case(keyset.request_field)
                    || f == keyset.response_field
            })
        };
        if !fields.is_empty() && !fields.iter().any(named) {
            fields.push(Value::from(keyset.request_field));
        }
    }
    let gt = format!(">{}", keyset.request_field);
    // A caller's own `>ID` condition is where the walk starts.
    let mut last = 0;
    match params.get_mut(&filter_key) {
        Some(Value::Object(filter)) => {
            if let Some(v) = filter.remove(&gt) {
                last = v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .unwrap_or(0);
            }
        }
        Some(Value::Array(a)) if a.is_empty() => {
            params.insert(filter_key.clone(), Value::Object(Map::new()));
        }
        Some(_) => {
            return error_stream(Error::invalid(M::NAME, "`filter` must be an object"));
        }
        None => {
            params.insert(filter_key.clone(), Value::Object(Map::new()));
        }
    }
    let state = KeysetState {
        client,
        params,
        filter_key,
        gt,
        last,
        first: true,
        done: false,
        pending: None,
    };
    stream::unfold(state, move |mut s| async move {
        if let Some(e) = s.pending.take() {
            s.done = true;
            return Some((Err(e), s));
        }
        if s.done {
            return None;
        }
        let outcome = keyset_step::<M>(&mut s, keyset).await;
        if outcome.is_err() {
            s.done = true;
        }
        Some((outcome, s))
    })
    .flat_map(|rows| match rows {
        Ok(rows) => stream::iter(rows.into_iter().map(Ok)).boxed(),
        Err(e) => error_stream(e),
    })
    .boxed()
}

async fn keyset_step<M: ListMethod>(
    s: &mut KeysetState,
    keyset: Keyset,
) -> Result<Vec<M::Item>, Error> {
    if s.first {
        // One plain call first: small lists cost one request, not a batch of 50.
        s.first = false;
        let mut params = s.params.clone();
        if let Some(Value::Object(filter)) = params.get_mut(&s.filter_key) {
            filter.insert(s.gt.clone(), Value::from(s.last));
        }
        let page = fetch_page::<M>(&s.client, &params).await?.0;
        return take_page::<M>(s, keyset, page);
    }
    {
        let base = php_query::flatten(&s.params);
        let link_key = format!("{}[{}]", s.filter_key, s.gt);
        let commands: Vec<Command> = (0..MAX_COMMANDS)
            .map(|i| {
                let mut pairs = base.clone();
                let value = if i == 0 {
                    s.last.to_string()
                } else {
                    let wrapper = M::WRAPPER.map(|w| format!("[{w}]")).unwrap_or_default();
                    format!(
                        "$result[k{}]{wrapper}[{}][{}]",
                        i - 1,
                        PAGE_SIZE - 1,
                        keyset.response_field
                    )
                };
                pairs.push((link_key.clone(), value));
                Command {
                    key: format!("k{i}"),
                    method: M::NAME.to_owned(),
                    idempotent: true,
                    pairs,
                }
            })
            .collect();
        let pages = fetch_batch(&s.client, commands).await?;
        let mut out = Vec::with_capacity(MAX_COMMANDS * PAGE_SIZE);
        for i in 0..MAX_COMMANDS {
            // Commands after a short page ran with an unresolvable reference: never read them.
            match pages
                .page::<M>(i)
                .and_then(|page| take_page::<M>(s, keyset, page))
            {
                Ok(rows) => out.extend(rows),
                // Rows already read in this batch are not thrown away: the error follows them.
                Err(e) if !out.is_empty() => {
                    s.pending = Some(e);
                    break;
                }
                Err(e) => return Err(e),
            }
            if s.done {
                break;
            }
        }
        Ok(out)
    }
}

/// Takes one keyset page: remembers its last id and ends the walk on a short page.
fn take_page<M: ListMethod>(
    s: &mut KeysetState,
    keyset: Keyset,
    page: Vec<M::Item>,
) -> Result<Vec<M::Item>, Error> {
    if let Some(last) = page.last() {
        s.last = M::item_id(last).ok_or_else(|| Error::Decode {
            method: M::NAME.to_owned(),
            path: keyset.response_field.to_owned(),
            message: "a row has no id; keyset pagination needs one (select the id field)"
                .to_owned(),
            status: 200,
        })?;
    }
    if page.len() < PAGE_SIZE {
        s.done = true;
    }
    Ok(page)
}
