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
//! The first request is one batch: the first page after the walk's start (what the
//! sequential walk reads first) and, chained from its last id, the first sample (49 commands):
//! a list of any length costs one round trip before its ranges go out. When that page ends
//! the list, or the sample cannot be read, the walk goes on as one chain.
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
    fetch_batch, find_key, keyset_step, keyset_walk, no_progress, page, pages, row_id, take_page,
    without_key,
};
use crate::batch::{Command, MAX_COMMANDS};
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
        let first = first_request::<M>(&mut state, keyset).await;
        (first, state)
    })
    .flat_map(move |(first, state)| match first {
        Err(e) => error_stream(e),
        Ok((rows, sampled)) => {
            let head = page(rows);
            match sampled {
                Some(ends) if !state.done && state.pending.is_none() => {
                    let from = state.last;
                    let plan = Arc::new(Plan {
                        le: format!("<={}", keyset.request_field),
                        template: state,
                    });
                    head.chain(walk_ranges::<M>(plan, from, ends, keyset, order, width))
                        .boxed()
                }
                _ => head.chain(keyset_walk::<M>(state, keyset)).boxed(),
            }
        }
    })
    .boxed()
}

/// The first request of a parallel walk, one batch: command `f` reads the first page after
/// the walk's start (checked as the sequential walk checks it), and the 49 commands after it
/// sample the ranges above that page, chained from its last id. Returns the page and the
/// sampled range ends ([`range_ends`]); `None` when the page ends the list or the sample could
/// not be read (the walk then goes on as one chain).
async fn first_request<M: ListMethod>(
    s: &mut KeysetState,
    keyset: Keyset,
) -> Result<(Vec<M::Item>, Option<(Vec<u64>, bool)>), Error> {
    s.first = false;
    let mut pairs = php_query::flatten(&s.params);
    pairs.push((format!("{}[{}]", s.filter_key, s.gt), s.last.to_string()));
    let mut commands = vec![Command {
        key: "f".to_owned(),
        method: M::NAME.to_owned(),
        idempotent: true,
        pairs,
    }];
    let wrapper = M::WRAPPER.map(|w| format!("[{w}]")).unwrap_or_default();
    let after_page = format!(
        "$result[f]{wrapper}[{}][{}]",
        PAGE_SIZE - 1,
        keyset.response_field
    );
    commands.extend(chained_commands::<M>(
        &sample_base(&s.params, keyset),
        &s.filter_key,
        &s.gt,
        &after_page,
        "s",
        keyset,
        MAX_COMMANDS - 1,
    ));
    let mut pages = fetch_batch::<M>(&s.client, commands).await?;
    let rows = take_page::<M>(s, keyset, pages.page(0)?)?;
    if s.done {
        return Ok((rows, None));
    }
    Ok((rows, range_ends::<M>(&mut pages, 1, s.last, keyset).ok()))
}

/// The rows above `from`, range by range; `sampled` are the ends of the ranges right after
/// `from` (as [`range_ends`] gives them), the later ones are sampled as the walk gets there.
fn walk_ranges<M: ListMethod + 'static>(
    plan: Arc<Plan>,
    from: u64,
    sampled: (Vec<u64>, bool),
    keyset: Keyset,
    order: RowOrder,
    width: usize,
) -> Pages<M::Item> {
    let ended = Arc::new(AtomicBool::new(false));
    let gate = ended.clone();
    let sampler = plan.clone();
    let ranges = stream::unfold((Some(from), Some(sampled)), move |(cursor, known)| {
        let plan = sampler.clone();
        async move {
            let from = cursor?;
            let ends = match known {
                Some(ends) => Ok(ends),
                None => sample::<M>(&plan, from, keyset).await,
            };
            Some(match ends {
                Err(e) => (vec![Err(e)], (None, None)),
                Ok((ends, full)) => {
                    let mut lo = from;
                    let mut out = Vec::with_capacity(ends.len() + 1);
                    for &hi in &ends {
                        out.push(Ok((lo, Some(hi))));
                        lo = hi;
                    }
                    if full {
                        (out, (Some(lo), None))
                    } else {
                        out.push(Ok((lo, None)));
                        (out, (None, None))
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
    let commands = chained_commands::<M>(
        &sample_base(&t.params, keyset),
        &t.filter_key,
        &t.gt,
        &from.to_string(),
        "s",
        keyset,
        MAX_COMMANDS,
    );
    let mut pages = fetch_batch::<M>(&t.client, commands).await?;
    range_ends::<M>(&mut pages, 0, from, keyset)
}

/// The flattened params of a sample command: the walk's, at `start=2450` with only the id
/// selected (the `>ID` link is added per command).
fn sample_base(params: &serde_json::Map<String, Value>, keyset: Keyset) -> Vec<(String, String)> {
    let mut params = without_key(params, "start");
    params.insert("start".into(), Value::from((MAX_COMMANDS - 1) * PAGE_SIZE));
    let select_key = find_key(&params, "select").unwrap_or_else(|| "select".to_owned());
    params.insert(select_key, Value::from(vec![keyset.request_field]));
    php_query::flatten(&params)
}

/// The last id of each full sample page (the commands from `skip` on), up to the first short
/// one; `true` when all were full.
fn range_ends<M: ListMethod>(
    pages: &mut BatchPages<M::Item>,
    skip: usize,
    from: u64,
    keyset: Keyset,
) -> Result<(Vec<u64>, bool), Error> {
    let mut ends = Vec::with_capacity(MAX_COMMANDS);
    let mut previous = from;
    for i in skip..pages.len() {
        let page = pages.page(i)?;
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
