//! One batch request of list commands of one method, its pages decoded once, as the answer
//! is read: each command's rows go from the body straight into their type. When a row does
//! not decode, the answer is read again the general way (each command's result kept as raw
//! JSON, then decoded on its own), so that the error names the command and its JSON path and
//! the commands before it keep their pages, as a walk needs.

use std::marker::PhantomData;

use crate::batch::{self, Command};
use crate::batch_results::{BatchPayload, BatchResults, PayloadSeed};
use crate::client::Client;
use crate::error::Error;
use crate::method::ListMethod;
use crate::response::{self, ItemsSeed, Response};

/// The pages of one batch, in the order of its commands, each with its `result_next`.
pub(super) struct BatchPages<T> {
    pages: Vec<(PageOutcome<T>, Option<u64>)>,
}

/// One command's rows, or its own error.
type PageOutcome<T> = Result<Vec<T>, Error>;

impl<T> BatchPages<T> {
    /// The number of commands.
    pub(super) fn len(&self) -> usize {
        self.pages.len()
    }

    /// The rows of command `i`, or its own error; a page is handed out once (it is empty
    /// afterwards).
    pub(super) fn page(&mut self, i: usize) -> Result<Vec<T>, Error> {
        match self.pages.get_mut(i) {
            Some((page, _)) => std::mem::replace(page, Ok(Vec::new())),
            None => Err(Error::NotExecuted {
                command: i.to_string(),
                method: String::new(),
            }),
        }
    }

    /// `result_next` of command `i`.
    pub(super) fn next(&self, i: usize) -> Option<u64> {
        self.pages.get(i).and_then(|(_, next)| *next)
    }
}

/// How the answer was read: every page at once, or (after a row that did not decode) as raw
/// JSON per command.
enum Answer<T> {
    Pages(BatchPayload<Vec<T>>),
    Raw(BatchPayload),
}

/// Several pages of `M` by one batch request: `commands` are sent as is.
pub(super) async fn fetch_batch<M: ListMethod>(
    client: &Client,
    commands: Vec<Command>,
) -> Result<BatchPages<M::Item>, Error> {
    let indices: Vec<usize> = (0..commands.len()).collect();
    let decode = |status: u16, body: &[u8]| {
        let seed = PayloadSeed(ItemsSeed::<M::Item>::new(M::WRAPPER));
        match response::decode("batch", status, body, seed) {
            Ok(resp) => Ok(with(resp, Answer::Pages)),
            Err(Error::Decode { .. }) => {
                response::decode("batch", status, body, PhantomData::<BatchPayload>)
                    .map(|resp| with(resp, Answer::Raw))
            }
            Err(e) => Err(e),
        }
    };
    let answer = batch::request_chunk_with(client, &commands, &indices, false, &decode).await?;
    let pages = match answer.result {
        Answer::Pages(mut payload) => commands
            .iter()
            .map(|c| {
                let entry = payload.take(client, &c.key, &c.method);
                let next = entry.next();
                (entry.into_result(&c.key), next)
            })
            .collect(),
        Answer::Raw(payload) => {
            let sent = commands.iter().map(|c| (c.key.as_str(), c.method.as_str()));
            let results = BatchResults::from_payload(client, sent, payload);
            commands
                .iter()
                .map(|c| {
                    let seed = ItemsSeed::<M::Item>::new(M::WRAPPER);
                    (results.decode_with(&c.key, seed), results.next_of(&c.key))
                })
                .collect()
        }
    };
    Ok(BatchPages { pages })
}

/// `resp` with its result mapped by `f`.
fn with<T, U>(resp: Response<T>, f: impl FnOnce(T) -> U) -> Response<U> {
    Response {
        result: f(resp.result),
        total: resp.total,
        next: resp.next,
        time: resp.time,
        replayed: resp.replayed,
    }
}
