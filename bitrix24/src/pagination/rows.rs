//! The walks produce their rows a page at a time ([`Pages`]); [`rows`] hands them out one by
//! one, as the public streams do. A row is moved once out of its page instead of through a
//! stream adapter per stage of the walk (a generated entity is a large struct, and each move
//! is a copy of it).

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures::stream::{self, BoxStream, Stream, StreamExt};

use crate::error::Error;

/// A walk's rows, a page (or a batch) at a time, ending at its first error.
pub(super) type Pages<T> = BoxStream<'static, Result<Vec<T>, Error>>;

/// One page of rows as a walk's stream.
pub(super) fn page<T: Send + 'static>(rows: Vec<T>) -> Pages<T> {
    stream::iter([Ok(rows)]).boxed()
}

/// Several pages, in order, as a walk's stream.
pub(super) fn pages<T: Send + 'static>(pages: Vec<Vec<T>>) -> Pages<T> {
    stream::iter(pages.into_iter().map(Ok)).boxed()
}

/// The rows of `pages` one by one, up to and including the first error: nothing of `pages` is
/// polled after it (the walk's requests still in flight are dropped).
pub(super) fn rows<T: Send + 'static>(pages: Pages<T>) -> BoxStream<'static, Result<T, Error>> {
    Rows {
        pages: Some(pages),
        current: Vec::new().into_iter(),
    }
    .boxed()
}

struct Rows<T> {
    /// `None` once the pages ended or failed.
    pages: Option<Pages<T>>,
    current: std::vec::IntoIter<T>,
}

// The rows are never pinned: they are moved out of their page by value.
impl<T> Unpin for Rows<T> {}

impl<T> Stream for Rows<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(row) = this.current.next() {
                return Poll::Ready(Some(Ok(row)));
            }
            let Some(pages) = this.pages.as_mut() else {
                return Poll::Ready(None);
            };
            match ready!(pages.poll_next_unpin(cx)) {
                Some(Ok(rows)) => this.current = rows.into_iter(),
                Some(Err(e)) => {
                    this.pages = None;
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    this.pages = None;
                    return Poll::Ready(None);
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let here = self.current.len();
        match self.pages {
            None => (here, Some(here)),
            Some(_) => (here, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn rows_come_out_in_order_and_end_at_the_first_error() {
        let walk: Pages<u32> = stream::iter([
            Ok(vec![1, 2]),
            Ok(vec![]),
            Ok(vec![3]),
            Err(Error::invalid("m", "boom")),
            Ok(vec![4]),
        ])
        .boxed();
        let out: Vec<Result<u32, Error>> = block_on(rows(walk).collect());
        let ok: Vec<u32> = out
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        assert_eq!(ok, [1, 2, 3]);
        assert_eq!(out.len(), 4);
        assert!(out[3].is_err());
    }
}
