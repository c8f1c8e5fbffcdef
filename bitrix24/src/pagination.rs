//! List pagination as `futures::Stream`s with bounded memory.
//!
//! - **Offset**: the first page learns `total`; the other pages go 50 list commands per batch
//!   request, several requests in flight under the limiter. Rows inserted or deleted while it
//!   runs can shift pages.
//! - **Keyset**: `order {ID: ASC}`, `start=-1` (no counting), each of the 50 commands of a batch
//!   filtered by `>ID` of the previous command's last row through a `$result[...]` reference:
//!   up to 2,500 rows per request, and no row skipped or repeated when rows are added or
//!   removed meanwhile. The first request reads the first page and samples the rest into id
//!   ranges of 2,500 rows, which are then walked at once, as many as the limiter's burst
//!   allows (the `parallel` module says how, and when the walk stays one chain); the rows come
//!   out in ascending id order, or per range with [`RowOrder::PerRange`].
//!
//! [`Strategy::Auto`] takes keyset when the method supports it and the caller set no `order`.
//!
//! Both walks check that the portal's pages make progress, and end with
//! [`Error::Pagination`] when they do not: a `next` that does not move past the page's
//! `start`, an empty page that still announces `next`, a page that repeats the previous one,
//! a keyset row whose id is not above the last id read (or the caller's own `>ID` bound), or a
//! `total` above [`MAX_WALK_TOTAL`]. Offset pages are planned lazily from `total`, a batch at
//! a time, so memory stays bounded whatever `total` says.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::stream::{self, BoxStream, StreamExt};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Map, Value};

use crate::batch::{self, Command, MAX_COMMANDS};
use crate::client::{Call, Client};
use crate::error::Error;
use crate::input::{self, json_kind};
use crate::lenient::LenientDecode;
use crate::method::{Keyset, ListMethod};
use crate::php_query;
use crate::response::{self, ItemsSeed};

/// Rows per page on v2 (fixed by the portal).
pub const PAGE_SIZE: usize = 50;

/// The largest `total` an offset walk follows; a larger one ends the walk with
/// [`Error::Pagination`] after the first page. A client-side bound, not a portal limit: it is
/// the range of an unsigned 32-bit id column, and a walk of that many rows at 2,500 rows per
/// request already takes more than a week at the standard rate. (`"total": 1e20` is read as
/// `u64::MAX` and lands here.)
pub const MAX_WALK_TOTAL: u64 = u32::MAX as u64;

mod batch_pages;
mod parallel;
mod rows;

use batch_pages::{BatchPages, fetch_batch};
pub use parallel::{RowOrder, StreamOptions};
use rows::{Pages, page, pages, rows};

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
    /// use bitrix24::packs::core::CrmItemList;
    /// // `entityTypeId` 2: the deals
    /// let mut deals = client.stream(&CrmItemList::new(2).select(["id", "title"]));
    /// while let Some(deal) = deals.try_next().await? {
    ///     println!("{:?}", deal.title);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream<M>(&self, method: &M) -> BoxStream<'static, Result<M::Item, Error>>
    where
        M: ListMethod + 'static,
    {
        self.stream_with(method, Strategy::Auto)
    }

    /// Streams every row with the given strategy (and the default [`StreamOptions`]).
    pub fn stream_with<M>(
        &self,
        method: &M,
        strategy: Strategy,
    ) -> BoxStream<'static, Result<M::Item, Error>>
    where
        M: ListMethod + 'static,
    {
        self.stream_with_options(method, StreamOptions::new().strategy(strategy))
    }

    /// Streams every row as `options` say: the strategy, and for a keyset walk whether the
    /// id ranges are walked in parallel and in which order their rows come out.
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24::Client) -> Result<(), bitrix24::Error> {
    /// use futures::TryStreamExt;
    /// use bitrix24::packs::core::CrmItemList;
    /// use bitrix24::{RowOrder, StreamOptions};
    /// let options = StreamOptions::new().row_order(RowOrder::PerRange);
    /// let deals: Vec<_> = client
    ///     .stream_with_options(&CrmItemList::new(2).select(["id", "title"]), options)
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn stream_with_options<M>(
        &self,
        method: &M,
        options: StreamOptions,
    ) -> BoxStream<'static, Result<M::Item, Error>>
    where
        M: ListMethod + 'static,
    {
        let strategy = options.strategy_of();
        let params = match input::method_params(method) {
            Ok(params) => params,
            Err(e) => return error_stream(e),
        };
        if M::V3_PAGING.is_some() {
            return crate::rest_v3::stream::<M>(self, params);
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
        rows(match keyset {
            Some(k) => keyset_stream::<M>(self.clone(), &params, k, options),
            None => offset_stream::<M>(self.clone(), params),
        })
    }

    /// Collects every row of a list method into a `Vec`.
    pub async fn list_all<M>(&self, method: &M) -> Result<Vec<M::Item>, Error>
    where
        M: ListMethod + 'static,
    {
        use futures::TryStreamExt;
        self.stream(method).try_collect().await
    }

    /// How many rows a list method matches, read from the `total` the portal reports with the
    /// first page: one request, whatever the count. The request is the method's own (its
    /// `filter` counts) with `start=0` (`start=-1` skips the count) and, for a method walked by
    /// id, `select` narrowed to the id field so the page carries little.
    ///
    /// A list that reports no `total` is counted from its one page when it has no `next`;
    /// otherwise the answer is [`Error::Pagination`] (count such a list with
    /// [`stream`](Client::stream)).
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24::Client) -> Result<(), bitrix24::Error> {
    /// use bitrix24::packs::core::CrmItemList;
    /// let won = client
    ///     .count(&CrmItemList::new(2).filter(serde_json::json!({"stageId": "WON"})))
    ///     .await?;
    /// println!("{won} deals won");
    /// # Ok(()) }
    /// ```
    pub async fn count<M: ListMethod>(&self, method: &M) -> Result<u64, Error> {
        let params = count_params::<M>(&input::method_params(method)?);
        let (rows, total, next) = fetch_rows::<M, IgnoredAny>(self, &params).await?;
        match (total, next) {
            (Some(total), _) => Ok(total),
            (None, None) => Ok(rows.len() as u64),
            (None, Some(_)) => Err(no_progress(
                M::NAME,
                "the portal reports no `total` for a list with more pages: count it with stream()"
                    .to_owned(),
            )),
        }
    }
}

/// The params of a counting request: the caller's, from the first page (`start=0`, which
/// asks for the count), and with only the id selected when the method has one.
fn count_params<M: ListMethod>(params: &Map<String, Value>) -> Map<String, Value> {
    let mut out = without_key(params, "start");
    out.insert("start".into(), Value::from(0));
    if let Some(keyset) = M::KEYSET {
        out = without_key(&out, "select");
        out.insert("select".into(), Value::from(vec![keyset.request_field]));
    }
    out
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
    fetch_rows::<M, M::Item>(client, params).await
}

/// One page of `M` by a plain call, its rows read as `T`, with `total` and `next`.
async fn fetch_rows<M: ListMethod, T: DeserializeOwned>(
    client: &Client,
    params: &Map<String, Value>,
) -> Result<(Vec<T>, Option<u64>, Option<u64>), Error> {
    let call = Call {
        name: M::NAME,
        gated: &[M::NAME],
        v3_name: None,
        idempotent: true,
        body: input::body(M::NAME, params)?,
    };
    let resp = client
        .execute(&call, &|status, body| {
            response::decode(M::NAME, status, body, ItemsSeed::<T>::new(M::WRAPPER))
        })
        .await?;
    Ok((resp.result, resp.total, resp.next))
}

impl<T> BatchPages<T> {
    /// The planned offset pages (command `i` read from `starts[i]`), in order, with the
    /// progress checks. Returns the pages read, the error that stopped the batch (after those
    /// pages), and whether the walk ends here (an error, or an empty page: nothing after it).
    fn offset_pages<M: ListMethod<Item = T>>(
        &mut self,
        starts: &[u64],
    ) -> (Vec<Vec<T>>, Option<Error>, bool) {
        let mut out = Vec::with_capacity(self.len());
        let mut previous: Option<(u64, PageMark)> = None;
        for (i, &start) in starts.iter().enumerate().take(self.len()) {
            let next = self.next(i);
            let checked = self.page(i).and_then(|page| {
                let mark = PageMark::of::<M>(&page);
                check_offset_page(M::NAME, start, page.len(), next, previous, mark)?;
                previous = Some((start, mark));
                Ok(page)
            });
            match checked {
                Ok(page) if page.is_empty() => return (out, None, true),
                Ok(page) => out.push(page),
                Err(e) => return (out, Some(e), true),
            }
        }
        (out, None, false)
    }
}

fn no_progress(method: &str, message: String) -> Error {
    Error::Pagination {
        method: method.to_owned(),
        message,
    }
}

/// What tells two pages apart cheaply: their length and first and last ids (when the rows
/// have ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PageMark {
    len: usize,
    ids: Option<(u64, u64)>,
}

impl PageMark {
    fn of<M: ListMethod>(page: &[M::Item]) -> Self {
        let ids = match (page.first(), page.last()) {
            (Some(first), Some(last)) => M::item_id(first).zip(M::item_id(last)),
            _ => None,
        };
        PageMark {
            len: page.len(),
            ids,
        }
    }
}

/// Checks one offset page read at `start`: the `next` it announced must move past `start`, an
/// empty page must not announce `next`, and it must not repeat the page read just before it
/// (`previous`: that page's start and mark).
fn check_offset_page(
    method: &str,
    start: u64,
    rows: usize,
    next: Option<u64>,
    previous: Option<(u64, PageMark)>,
    mark: PageMark,
) -> Result<(), Error> {
    if let Some(next) = next {
        if rows == 0 {
            return Err(no_progress(
                method,
                format!(
                    "an empty page at start {start} still announces next {next}; following it may never end"
                ),
            ));
        }
        if next <= start {
            return Err(no_progress(
                method,
                format!(
                    "the page at start {start} announces next {next}, which does not move past its start (does the portal ignore `start`?); following it would repeat rows"
                ),
            ));
        }
    }
    if let Some((before, seen)) = previous
        && let Some((first, last)) = mark.ids
        && seen == mark
        && rows > 0
    {
        return Err(no_progress(
            method,
            format!(
                "the page at start {start} repeats the page at start {before} (ids {first}..{last}): the portal ignores `start`"
            ),
        ));
    }
    Ok(())
}

/// The offset pages after the first, planned from `total` one batch at a time, so that
/// memory stays bounded whatever `total` says.
fn planned_starts(total: u64) -> impl Iterator<Item = Vec<u64>> + Send + 'static {
    let page = PAGE_SIZE as u64;
    let per_batch = page * MAX_COMMANDS as u64;
    (0u64..).map_while(move |batch| {
        let from = batch.checked_mul(per_batch)?.checked_add(page)?;
        (from < total).then(|| {
            (0..MAX_COMMANDS as u64)
                .map_while(|j| from.checked_add(j * page).filter(|start| *start < total))
                .collect()
        })
    })
}

fn offset_stream<M: ListMethod + 'static>(
    client: Client,
    params: Map<String, Value>,
) -> Pages<M::Item> {
    let mut first = params.clone();
    first.insert("start".into(), Value::from(0));
    let first_client = client.clone();
    stream::once(async move { fetch_page::<M>(&first_client, &first).await })
        .flat_map(move |first| match first {
            Err(e) => error_stream(e),
            Ok((items, total, next)) => {
                let mark = PageMark::of::<M>(&items);
                if let Err(e) = check_offset_page(M::NAME, 0, items.len(), next, None, mark) {
                    return error_stream(e);
                }
                let head = page(items);
                let Some(next) = next else {
                    return head;
                };
                match total {
                    // No total to plan from: follow `next` one page at a time.
                    None => head
                        .chain(follow_next::<M>(client.clone(), params.clone(), next, mark))
                        .boxed(),
                    Some(total) if total > MAX_WALK_TOTAL => head
                        .chain(error_stream(no_progress(
                            M::NAME,
                            format!(
                                "the portal reports total {total}, more than the {MAX_WALK_TOTAL} rows a walk plans; narrow the filter"
                            ),
                        )))
                        .boxed(),
                    Some(total) => head
                        .chain(planned_pages::<M>(client.clone(), &params, total))
                        .boxed(),
                }
            }
        })
        .boxed()
}

/// The pages after the first by batches of 50 `start`s, several batches in flight. The walk
/// ends after the first error or empty page (no batch is started after it).
fn planned_pages<M: ListMethod + 'static>(
    client: Client,
    params: &Map<String, Value>,
    total: u64,
) -> Pages<M::Item> {
    let base = php_query::flatten(&without_key(params, "start"));
    let concurrency = batch::in_flight(&client);
    let ended = Arc::new(AtomicBool::new(false));
    let gate = ended.clone();
    let batches =
        stream::iter(planned_starts(total).take_while(move |_| !gate.load(Ordering::Acquire)))
            .map(move |starts| {
                let client = client.clone();
                let ended = ended.clone();
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
                async move {
                    let outcome = match fetch_batch::<M>(&client, commands).await {
                        Ok(mut pages) => pages.offset_pages::<M>(&starts),
                        Err(e) => (Vec::new(), Some(e), true),
                    };
                    if outcome.2 {
                        ended.store(true, Ordering::Release);
                    }
                    outcome
                }
            })
            .buffered(concurrency)
            .boxed();
    // Stop at the batch that ended the walk, without waiting for the ones still in flight.
    stream::unfold((batches, false), |(mut batches, done)| async move {
        if done {
            return None;
        }
        let (read, error, end) = batches.next().await?;
        Some(((read, error), (batches, end)))
    })
    .flat_map(|(read, error)| pages(read).chain(stream::iter(error.map(Err))))
    .boxed()
}

/// Pages one by one from `start`, for lists that report `next` but no `total`. `previous`
/// marks the page read before `start` (the first page).
fn follow_next<M: ListMethod + 'static>(
    client: Client,
    params: Map<String, Value>,
    start: u64,
    previous: PageMark,
) -> Pages<M::Item> {
    // State: the next start, and the page read before it (its start and mark).
    let first = Some((start, (0, previous)));
    stream::unfold(first, move |state| {
        let (client, params) = (client.clone(), params.clone());
        async move {
            let (start, previous) = state?;
            let mut page = params;
            page.insert("start".into(), Value::from(start));
            let checked = fetch_page::<M>(&client, &page)
                .await
                .and_then(|(rows, _, next)| {
                    let mark = PageMark::of::<M>(&rows);
                    check_offset_page(M::NAME, start, rows.len(), next, Some(previous), mark)?;
                    Ok((rows, next.map(|next| (next, (start, mark)))))
                });
            match checked {
                Ok((rows, following)) => Some((Ok(rows), following)),
                Err(e) => Some((Err(e), None)),
            }
        }
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
    /// The highest id of the range this walk covers (a parallel walk's closed range): rows
    /// above it belong to the next range and end this walk.
    upper: Option<u64>,
    first: bool,
    done: bool,
    /// An error met after some rows of the same batch were read: those rows go out first.
    pending: Option<Error>,
}

fn keyset_stream<M: ListMethod + 'static>(
    client: Client,
    params: &Map<String, Value>,
    keyset: Keyset,
    options: StreamOptions,
) -> Pages<M::Item> {
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
                match caller_bound(M::NAME, &filter_key, &gt, &v) {
                    Ok(bound) => last = bound,
                    Err(e) => return error_stream(e),
                }
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
    let width = parallel::width(&client, options);
    let split = width > 1 && parallel::splittable(&params, &filter_key, keyset);
    let state = KeysetState {
        client,
        params,
        filter_key,
        gt,
        last,
        upper: None,
        first: true,
        done: false,
        pending: None,
    };
    if split {
        return parallel::keyset_ranges::<M>(state, keyset, options.order_of(), width);
    }
    keyset_walk::<M>(state, keyset)
}

/// The chained keyset walk from `state` on, one batch at a time (an error pending in `state`
/// comes out first).
fn keyset_walk<M: ListMethod + 'static>(state: KeysetState, keyset: Keyset) -> Pages<M::Item> {
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
    .flat_map(|read| match read {
        Ok(read) => pages(read),
        Err(e) => error_stream(e),
    })
    .boxed()
}

/// The caller's own `>ID` condition (`value` under `filter_key[gt]`): where the walk starts.
/// Read as an `id` field is (an integer, an integral float such as `100.0`, a numeric string
/// with spaces around it such as `"100 "`); anything else is refused naming the key, never
/// dropped (dropping it would hand out the rows the caller excluded).
fn caller_bound(method: &str, filter_key: &str, gt: &str, value: &Value) -> Result<u64, Error> {
    // The one reading of an id the crate has (`lenient`); empty values are refused here too.
    let bound = u64::decode_opt(value).ok().flatten();
    bound.ok_or_else(|| {
        let got = match value {
            Value::Array(_) | Value::Object(_) => json_kind(value).to_owned(),
            scalar => scalar.to_string(),
        };
        Error::invalid(
            method,
            format!(
                "`{filter_key}[{gt}]` must be a whole non-negative id (a number or a numeric string), got {got}; keyset pagination starts after it"
            ),
        )
    })
}

/// The next request of a keyset walk: its pages, each checked by [`take_page`].
async fn keyset_step<M: ListMethod>(
    s: &mut KeysetState,
    keyset: Keyset,
) -> Result<Vec<Vec<M::Item>>, Error> {
    if s.first {
        // One plain call first: small lists cost one request, not a batch of 50.
        s.first = false;
        let mut params = s.params.clone();
        if let Some(Value::Object(filter)) = params.get_mut(&s.filter_key) {
            filter.insert(s.gt.clone(), Value::from(s.last));
        }
        let (page, _, _) = fetch_page::<M>(&s.client, &params).await?;
        return take_page::<M>(s, keyset, page).map(|page| vec![page]);
    }
    {
        let base = php_query::flatten(&s.params);
        let commands = chained_commands::<M>(
            &base,
            &s.filter_key,
            &s.gt,
            &s.last.to_string(),
            "k",
            keyset,
            MAX_COMMANDS,
        );
        let mut pages = fetch_batch::<M>(&s.client, commands).await?;
        let mut out: Vec<Vec<M::Item>> = Vec::with_capacity(MAX_COMMANDS);
        for i in 0..MAX_COMMANDS {
            // Commands after a short page ran with an unresolvable reference: never read them.
            match pages
                .page(i)
                .and_then(|page| take_page::<M>(s, keyset, page))
            {
                Ok(rows) => out.push(rows),
                // Rows already read in this batch are not thrown away: the error follows them.
                Err(e) if out.iter().any(|page| !page.is_empty()) => {
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

/// The id of a keyset row, or the error that names the missing field.
fn row_id<M: ListMethod>(row: &M::Item, keyset: Keyset) -> Result<u64, Error> {
    M::item_id(row).ok_or_else(|| Error::Decode {
        method: M::NAME.to_owned(),
        path: keyset.response_field.to_owned(),
        message: "a row has no id; keyset pagination needs one (select the id field)".to_owned(),
        status: 200,
    })
}

/// `count` commands of `M` named `{prefix}0..` on the flattened params `base`, chained by id:
/// command 0 reads after `first` (an id, or a `$result[...]` reference), command `i` after
/// the last row of command `i - 1` (a `$result[...]` reference under `filter_key[gt]`).
fn chained_commands<M: ListMethod>(
    base: &[(String, String)],
    filter_key: &str,
    gt: &str,
    first: &str,
    prefix: &str,
    keyset: Keyset,
    count: usize,
) -> Vec<Command> {
    let link_key = format!("{filter_key}[{gt}]");
    let wrapper = M::WRAPPER.map(|w| format!("[{w}]")).unwrap_or_default();
    (0..count)
        .map(|i| {
            let mut pairs = base.to_vec();
            let value = if i == 0 {
                first.to_owned()
            } else {
                format!(
                    "$result[{prefix}{}]{wrapper}[{}][{}]",
                    i - 1,
                    PAGE_SIZE - 1,
                    keyset.response_field
                )
            };
            pairs.push((link_key.clone(), value));
            Command {
                key: format!("{prefix}{i}"),
                method: M::NAME.to_owned(),
                idempotent: true,
                pairs,
            }
        })
        .collect()
}

/// Takes one keyset page: checks that its ids grow past the last id read (the walk's `>ID`
/// bound), remembers its last id and ends the walk on a short page, or at the range's upper
/// id (rows above it are left to the next range). A page that fails the check is not handed
/// out: its rows repeat earlier ones or are excluded by the filter.
fn take_page<M: ListMethod>(
    s: &mut KeysetState,
    keyset: Keyset,
    mut page: Vec<M::Item>,
) -> Result<Vec<M::Item>, Error> {
    let mut previous = s.last;
    let mut keep = page.len();
    for (i, row) in page.iter().enumerate() {
        let id = row_id::<M>(row, keyset)?;
        if id <= previous {
            return Err(no_progress(
                M::NAME,
                format!(
                    "the page asked for `{}` {} holds id {id}, not above {previous}: the portal ignores the `{}` filter or the id order, and following it would repeat rows or hand out rows the filter excludes",
                    s.gt, s.last, s.gt
                ),
            ));
        }
        if s.upper.is_some_and(|upper| id > upper) {
            keep = i;
            break;
        }
        previous = id;
    }
    s.last = previous;
    let full = keep >= PAGE_SIZE;
    page.truncate(keep);
    if !full || s.upper.is_some_and(|upper| previous >= upper) {
        s.done = true;
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bound(v: &Value) -> Result<u64, Error> {
        caller_bound("crm.deal.list", "filter", ">ID", v)
    }

    #[test]
    fn the_callers_bound_as_an_integer() {
        assert_eq!(bound(&json!(100)).unwrap(), 100);
        assert_eq!(bound(&json!(0)).unwrap(), 0);
    }

    #[test]
    fn the_callers_bound_as_an_integral_float() {
        assert_eq!(bound(&json!(100.0)).unwrap(), 100);
        assert_eq!(bound(&json!(1e3)).unwrap(), 1_000);
    }

    #[test]
    fn the_callers_bound_as_a_string_with_spaces() {
        assert_eq!(bound(&json!("100")).unwrap(), 100);
        assert_eq!(bound(&json!("100 ")).unwrap(), 100);
        assert_eq!(bound(&json!(" 100")).unwrap(), 100);
        assert_eq!(bound(&json!("\t100\n")).unwrap(), 100);
        assert_eq!(bound(&json!("100.0")).unwrap(), 100);
    }

    #[test]
    fn an_unreadable_bound_is_refused_naming_the_filter_key() {
        for v in [
            json!("abc"),
            json!(""),
            json!(100.5),
            json!("100.5"),
            json!(-1),
            json!("-1"),
            json!(1e300),
            json!(true),
            json!(null),
            json!([100]),
            json!({"v": 100}),
        ] {
            match bound(&v) {
                Err(Error::InvalidInput { method, message }) => {
                    assert_eq!(method, "crm.deal.list");
                    assert!(message.contains("`filter[>ID]`"), "{v}: {message}");
                }
                other => panic!("{v}: {other:?}"),
            }
        }
    }
}
