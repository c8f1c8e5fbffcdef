//! [`TokenStore`]: where rotated OAuth tokens are persisted, with an in-memory and a file
//! implementation.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::error::{AuthError, Error};
use crate::secret::Secret;
use crate::tokens::OAuthTokens;

/// The on-disk and over-the-wire form of the tokens. Private: it exposes the secrets.
#[derive(Serialize, Deserialize)]
struct StoredTokens {
    access_token: String,
    refresh_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<u64>,
}

impl From<&OAuthTokens> for StoredTokens {
    fn from(t: &OAuthTokens) -> Self {
        StoredTokens {
            access_token: t.access_token.expose().to_owned(),
            refresh_token: t.refresh_token.expose().to_owned(),
            expires_at: t.expires_at,
            client_endpoint: t.client_endpoint.clone(),
            server_endpoint: t.server_endpoint.clone(),
            member_id: t.member_id.clone(),
            user_id: t.user_id,
        }
    }
}

impl From<StoredTokens> for OAuthTokens {
    fn from(t: StoredTokens) -> Self {
        OAuthTokens {
            access_token: Secret::new(t.access_token),
            refresh_token: Secret::new(t.refresh_token),
            expires_at: t.expires_at,
            client_endpoint: t.client_endpoint,
            server_endpoint: t.server_endpoint,
            member_id: t.member_id,
            user_id: t.user_id,
        }
    }
}

/// Where rotated tokens are persisted. The client calls [`TokenStore::save`] with the new pair
/// *before* it uses it, so a crash between refresh and save can never lose the only valid
/// refresh token.
pub trait TokenStore: Send + Sync + 'static {
    /// The stored tokens, if any.
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>, Error>>;
    /// Replaces the stored tokens.
    fn save<'a>(&'a self, tokens: &'a OAuthTokens) -> BoxFuture<'a, Result<(), Error>>;
}

/// Keeps tokens in memory (lost on restart): for tests and short-lived tools.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: RwLock<Option<OAuthTokens>>,
    saves: std::sync::atomic::AtomicU64,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many times tokens were saved.
    pub fn saves(&self) -> u64 {
        self.saves.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>, Error>> {
        let tokens = self.tokens.read().ok().and_then(|t| t.clone());
        Box::pin(async move { Ok(tokens) })
    }

    fn save<'a>(&'a self, tokens: &'a OAuthTokens) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut slot = self
                .tokens
                .write()
                .map_err(|_| Error::Auth(AuthError::TokenStore("lock poisoned".into())))?;
            *slot = Some(tokens.clone());
            self.saves.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        })
    }
}

/// Keeps tokens in a JSON file, readable only by the owner on Unix.
///
/// Each save writes a temporary file of its own (unique per process and save, so concurrent
/// savers never share one), flushes it to disk, renames it over the file and flushes the
/// directory: after a crash the file holds either the old pair or the new one, complete, and a
/// completed save is never rolled back to a pair whose refresh token is already dead.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store at `path` (created on first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileTokenStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>, Error>> {
        Box::pin(async move {
            match tokio::fs::read(&self.path).await {
                Ok(bytes) => serde_json::from_slice::<StoredTokens>(&bytes)
                    .map(|t| Some(t.into()))
                    .map_err(|e| {
                        store_error(format!("{}: not a token file: {e}", self.path.display()))
                    }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(store_error(format!("{}: {e}", self.path.display()))),
            }
        })
    }

    fn save<'a>(&'a self, tokens: &'a OAuthTokens) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let bytes = serde_json::to_vec_pretty(&StoredTokens::from(tokens))
                .map_err(|e| store_error(e.to_string()))?;
            let path = self.path.clone();
            // Blocking file I/O with fsyncs: off the async worker threads.
            tokio::task::spawn_blocking(move || write_durably(&path, &bytes))
                .await
                .map_err(|e| store_error(format!("the save task failed: {e}")))?
                .map_err(|e| store_error(format!("{}: {e}", self.path.display())))
        })
    }
}

fn store_error(message: String) -> Error {
    Error::Auth(AuthError::TokenStore(message))
}

/// Writes `bytes` to a temporary file beside `path` that no other save uses, syncs it, renames
/// it over `path` and syncs the directory, so the rename itself survives a crash.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    static SAVES: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "tokens".to_owned(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{name}.{}.{}.{:016x}.tmp",
        std::process::id(),
        SAVES.fetch_add(1, Ordering::Relaxed),
        fastrand::u64(..)
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = renamed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(&dir)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    // Windows has no directory handle to flush; the rename is durable once it returns.
    Ok(())
}
