//! Reading a response body with a size cap, so a hostile or broken server cannot make the
//! client buffer without bound (the cap applies after gzip decoding).

/// The default cap on one response body: 64 MiB. A full 50-command batch of wide rows stays
/// far below it.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Why a body could not be read.
pub(crate) enum BodyError {
    /// The connection failed while reading.
    Transport(reqwest::Error),
    /// The body is larger than the cap.
    TooLarge,
}

/// Reads the whole body of `response`, refusing more than `limit` bytes.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let announced = response.content_length();
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    // Announced lengths are trusted only up to 1 MiB for the first allocation.
    let first = announced.map_or(8 * 1024, |n| n.min(1024 * 1024) as usize);
    let mut out = Vec::with_capacity(first.min(limit));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if out.len().saturating_add(chunk.len()) > limit {
            return Err(BodyError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
