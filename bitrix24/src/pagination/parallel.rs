//! The parallel keyset walk: the ids after the first page are split into ranges of 2,500 rows
//! (one batch request each) from one sampling request, and the ranges are walked at once, as
//! many as the limiter's burst allows.
//!
//! The sample is one batch of 50 commands chained like a keyset batch, but each reads the page
//! at `start=2450` after the previous command's last row, with only the id selected: the last
//! id of command `i` ends range `i`, which then holds exactly 2,500 rows (50 pages). When a
//! command comes back short, the rows after the last full one form the final range, open
//! upwards (rows added meanwhile are read as a sequential walk would read them). When all 50
//! are full, the next sample starts after the 50th range.
//!
//! Each range is a chained keyset walk filtered by `>ID` and `<=ID` (its first and last id),
//! with the same checks as the sequential walk; rows above the range's last id are never
//! handed out by it (they belong to the next range, should the portal ignore `<=ID`). Ids are
//! the ranges' boundaries, so every row lies in exactly one range: no row is read twice, and a
//! row that exists for the whole walk is read once. A range that grew past one batch (rows
//! deleted between the sample's commands shift its end) goes on with more batches.
//!
//! The first page asks for the count (`start=0`): when the rest fits into one batch (2,500
//! rows), the walk goes on as one chain, without the sample.
//!
//! The split needs the filter to say nothing else about the id: a caller's `<ID`, `<=ID`,
//! `>=ID`, `ID`, `@ID`, ... (anything but `>ID`, which is where the walk starts) keeps the
//! sequential walk, as does a width of 1 ([`StreamOptions::sequential`], or no limiter and a
//! batch concurrency of 1). The sample asks for offsets (`start=2450`, a multiple of 50 as
//! every list method reads it), so each of its commands also counts its rows on the portal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::stream::{self, StreamExt};
use serde_json::Value;

use super::{
    BatchPages, KeysetState, PAGE_SIZE, Pages, Strategy, chained_commands, error_stream,
    fetch_batch, find_key, keyset_step, keyset_walk, no_progress, pages, row_id, without_key,
};
use crate::batch::MAX_COMMANDS;
use crate::client::Client;
use crate::error::Error;
use crate::method::{Keyset, ListMethod};
use crate::php_query;

/// In which order a keyset walk hands out rows when it walks id ranges in parallel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RowOrder {
    /// Ascending by id over the whole list, as the sequential walk gives them: ranges come out
    /// one after the other, the ones read ahead held back (at most the walk's width of
    /// batches, 2,500 rows each).
    #[default]
    Ascending,
    /// Ascending within each range; the ranges' rows come out as their batches arrive.
    PerRange,
}

/// How [`Client::stream_with_options`] walks a list.
///
/// ```
/// use bitrix24::{RowOrder, StreamOptions, Strategy};
/// let options = StreamOptions::new()
///     .strategy(Strategy::Keyset)
///     .row_order(RowOrder::PerRange);
/// assert_eq!(options, StreamOptions::new().strategy(Strategy::Keyset).row_order(RowOrder::PerRange));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamOptions {
    strategy: Strategy,
    order: RowOrder,
    sequential: bool,
}

impl StreamOptions {
    /// [`Strategy::Auto`], parallel id ranges when the list allows them, ascending ids.
    pub fn new() -> Self {
        Self::default()
    }

    /// How the list is walked.
    #[must_use]
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// In which order the rows of a parallel keyset walk come out.
    #[must_use]
    pub fn row_order(mut self, order: RowOrder) -> Self {
        self.order = order;
        self
    }

    /// `true`: walk a keyset list as one chain, a batch after the other (no sampling request).
    #[must_use]
    pub fn sequential(mut self, sequential: bool) -> Self {
        self.sequential = sequential;
        self
    }

    pub(super) fn strategy_of(self) -> Strategy {
        self.strategy
    }

    pub(super) fn order_of(self) -> RowOrder {
        self.order
    }
}

/// How many ranges a walk keeps in flight: as many requests as a batch keeps
/// ([`crate::batch::in_flight`]), at most 50 (one sample's worth of ranges).
pub(super) fn width(client: &Client, options: StreamOptions) -> usize {
    if options.sequential {
        return 1;
    }
    crate::batch::in_flight(client).min(MAX_COMMANDS)
}

/// Whether the id ranges can be added to the filter: it is an object that names the id field
/// under no operator (the caller's `>ID` is already taken out of it).
pub(super) fn splittable(
    params: &serde_json::Map<String, Value>,
    filter_key: &str,
    keyset: Keyset,
) -> bool {
    match params.get(filter_key) {
        Some(Value::Object(filter)) => !filter.keys().any(|key| {
            key.trim_start_matches(['=', '<', '>', '!', '@', '%'])
                .eq_ignore_ascii_case(keyset.request_field)
        }),
        _ => false,
    }
}

/// What every range of one walk shares: the sequential walk's state before its first request.
struct Plan {
    template: KeysetState,
    /// `<=ID` (or `<=id`).
    le: String,
}

impl Plan {
    /// The walk of the ids above `lo`, up to `hi` when given.
    fn range(&self, lo: u64, hi: Option<u64>) -> KeysetState {
        let t = &self.template;
        let mut params = t.params.clone();
        if let (Some(hi), Some(Value::Object(filter))) = (hi, params.get_mut(&t.filter_key)) {
            filter.insert(self.le.clone(), Value::from(hi));
        }
        KeysetState {
            client: t.client.clone(),
            params,
            filter_key: t.filter_key.clone(),
            gt: t.gt.clone(),
            last: lo,
            upper: hi,
            first: false,
            done: false,
            pending: None,
            count_first: false,
            total: None,
        }
    }
}

/// The keyset walk of `state` (before its first request) by parallel ranges, `width` at once.
pub(super) fn keyset_ranges<M: ListMethod + 'static>(
    mut state: KeysetState,
    keyset: Keyset,
    order: RowOrder,
    width: usize,
) -> Pages<M::Item> {
    stream::once(async move {
        // The first page alone, as the sequential walk does: a short list costs one request.
        let rows = keyset_step::<M>(&mut state, keyset).await;
        (rows, state)
    })
    .flat_map(move |(rows, state)| match rows {
        Err(e) => error_stream(e),
        Ok(read) => {
            let head = pages(read);
            // The rest fits into one batch: no sample, one more request.
            let one_batch = state
                .total
                .is_some_and(|total| total <= (PAGE_SIZE * (MAX_COMMANDS + 1)) as u64);
            if state.done || state.pending.is_some() || one_batch {
                return head.chain(keyset_walk::<M>(state, keyset)).boxed();
            }
            let from = state.last;
            let plan = Arc::new(Plan {
                le: format!("<={}", keyset.request_field),
                template: state,
            });
            head.chain(walk_ranges::<M>(plan, from, keyset, order, width))
                .boxed()
        }
    })
    .boxed()
}

/// The rows above `from`, range by range.
fn walk_ranges<M: ListMethod + 'static>(
    plan: Arc<Plan>,
    from: u64,
    keyset: Keyset,
    order: RowOrder,
    width: usize,
) -> Pages<M::Item> {
    let ended = Arc::new(AtomicBool::new(false));
    let gate = ended.clone();
    let sampler = plan.clone();
    let ranges = stream::unfold(Some(from), move |cursor| {
        let plan = sampler.clone();
        async move {
            let from = cursor?;
            Some(match sample::<M>(&plan, from, keyset).await {
                Err(e) => (vec![Err(e)], None),
                Ok((ends, full)) => {
                    let mut lo = from;
                    let mut out = Vec::with_capacity(ends.len() + 1);
                    for &hi in &ends {
                        out.push(Ok((lo, Some(hi))));
                        lo = hi;
                    }
                    if full {
                        (out, Some(lo))
                    } else {
                        out.push(Ok((lo, None)));
                        (out, None)
                    }
                }
            })
        }
    })
    .flat_map(stream::iter)
    .take_while(move |_| futures::future::ready(!gate.load(Ordering::Acquire)))
    .map(move |range| {
        let plan = plan.clone();
        let ended = ended.clone();
        async move {
            let (rows, failed) = match range {
                Err(e) => (error_stream(e), true),
                Ok((lo, hi)) => first_batch::<M>(plan.range(lo, hi), keyset).await,
            };
            if failed {
                ended.store(true, Ordering::Release);
            }
            rows
        }
    });
    // The walk ends at the first error: `rows` polls nothing after it.
    match order {
        RowOrder::Ascending => ranges.buffered(width).flatten().boxed(),
        RowOrder::PerRange => ranges.buffer_unordered(width).flatten().boxed(),
    }
}

/// The first batch of one range, and the rest of its walk when it goes on; `true` when the
/// range met an error (the walk ends after it).
async fn first_batch<M: ListMethod + 'static>(
    mut state: KeysetState,
    keyset: Keyset,
) -> (Pages<M::Item>, bool) {
    match keyset_step::<M>(&mut state, keyset).await {
        Err(e) => (error_stream(e), true),
        Ok(read) => {
            let failed = state.pending.is_some();
            let head = pages(read);
            if state.done && !failed {
                (head, false)
            } else {
                (head.chain(keyset_walk::<M>(state, keyset)).boxed(), failed)
            }
        }
    }
}

/// One sampling request after `from`: the last ids of up to 50 ranges of 2,500 rows, and
/// whether all 50 were full (the list goes on after the last).
async fn sample<M: ListMethod>(
    plan: &Plan,
    from: u64,
    keyset: Keyset,
) -> Result<(Vec<u64>, bool), Error> {
    let t = &plan.template;
    let mut params = without_key(&t.params, "start");
    params.insert("start".into(), Value::from((MAX_COMMANDS - 1) * PAGE_SIZE));
    let select_key = find_key(&params, "select").unwrap_or_else(|| "select".to_owned());
    params.insert(select_key, Value::from(vec![keyset.request_field]));
    let base = php_query::flatten(&params);
    let commands = chained_commands::<M>(&base, &t.filter_key, &t.gt, from, "s", keyset);
    let pages = fetch_batch(&t.client, commands).await?;
    range_ends::<M>(&pages, from, keyset)
}

/// The last id of each full sample page, up to the first short one.
fn range_ends<M: ListMethod>(
    pages: &BatchPages,
    from: u64,
    keyset: Keyset,
) -> Result<(Vec<u64>, bool), Error> {
    let mut ends = Vec::with_capacity(MAX_COMMANDS);
    let mut previous = from;
    for i in 0..MAX_COMMANDS {
        let page = pages.page::<M>(i)?;
        let Some(last) = page.get(PAGE_SIZE - 1) else {
            return Ok((ends, false));
        };
        let id = row_id::<M>(last, keyset)?;
        if id <= previous {
            return Err(no_progress(
                M::NAME,
                format!(
                    "the sampled page after id {previous} ends at id {id}: the portal ignores the `>{}` filter or the id order",
                    keyset.request_field
                ),
            ));
        }
        ends.push(id);
        previous = id;
    }
    Ok((ends, true))
}
