//! A loopback HTTP server that answers a fixed sequence of responses and records each
//! request: for pinning exact wire sequences (retries, refresh, fallback, redirects).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One canned answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Announce a longer body than sent, then close (a cut connection).
    pub cut: bool,
}

pub fn json(status: u16, body: &str) -> Answer {
    Answer {
        status,
        headers: vec![(
            "Content-Type".into(),
            "application/json; charset=utf-8".into(),
        )],
        body: body.to_owned(),
        cut: false,
    }
}

pub fn html(status: u16, body: &str) -> Answer {
    Answer {
        status,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: body.to_owned(),
        cut: false,
    }
}

pub fn cut(body: &str) -> Answer {
    Answer {
        cut: true,
        ..json(200, body)
    }
}

pub fn redirect(location: &str) -> Answer {
    Answer {
        status: 302,
        headers: vec![("Location".into(), location.to_owned())],
        body: String::new(),
        cut: false,
    }
}

/// A recorded request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// Request headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub path: String,
    pub body: String,
    pub at: std::time::Instant,
}

pub struct Canned {
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// Decides the answer to one request; `None` keeps the connection open without answering.
pub type Handler = Arc<dyn Fn(Seen) -> BoxFuture<'static, Option<Answer>> + Send + Sync>;

impl Canned {
    /// Answers `answers` in order, then 500 `NO_CANNED_ANSWER`.
    pub async fn start(answers: Vec<Answer>) -> Canned {
        let queue = Arc::new(Mutex::new(VecDeque::from(answers)));
        Canned::serve(Arc::new(move |_seen: Seen| {
            let answer = queue.lock().unwrap().pop_front().unwrap_or_else(|| {
                json(500, r#"{"error":"NO_CANNED_ANSWER","error_description":"test server has no more answers"}"#)
            });
            Box::pin(async move { Some(answer) })
        }))
        .await
    }

    /// Answers each request with what `handler` decides.
    pub async fn serve(handler: Handler) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let own_base = base.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (handler, log) = (handler.clone(), log.clone());
                let own_base = own_base.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    let (head_end, content_length) = loop {
                        let read = sock.read(&mut chunk).await.unwrap_or(0);
                        if read == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..read]);
                        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..pos]).to_string();
                            let len = head
                                .lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse::<usize>().ok())?
                                })
                                .unwrap_or(0);
                            break (pos + 4, len);
                        }
                    };
                    while buf.len() < head_end + content_length {
                        let read = sock.read(&mut chunk).await.unwrap_or(0);
                        if read == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..read]);
                    }
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let mut first = head.lines().next().unwrap_or_default().split(' ');
                    let method = first.next().unwrap_or_default().to_owned();
                    let path = first.next().unwrap_or_default().to_owned();
                    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                    let headers = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                        .collect();
                    let request = Seen {
                        method,
                        headers,
                        path,
                        body,
                        at: std::time::Instant::now(),
                    };
                    log.lock().unwrap().push(request.clone());
                    let Some(mut answer) = handler(request).await else {
                        // Hold the connection open, unanswered, until the client gives up.
                        let mut rest = [0u8; 64];
                        while sock.read(&mut rest).await.is_ok_and(|n| n > 0) {}
                        return;
                    };
                    // `{BASE}` in a canned body is this server's own address.
                    answer.body = answer.body.replace("{BASE}", &own_base);
                    let announced = if answer.cut {
                        answer.body.len() + 100
                    } else {
                        answer.body.len()
                    };
                    let mut out = format!(
                        "HTTP/1.1 {} X\r\nConnection: close\r\nContent-Length: {announced}\r\n",
                        answer.status
                    );
                    for (name, value) in &answer.headers {
                        let _ = write!(out, "{name}: {value}\r\n");
                    }
                    out.push_str("\r\n");
                    out.push_str(&answer.body);
                    let _ = sock.write_all(out.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Canned { base, seen }
    }

    pub fn webhook(&self) -> String {
        format!("{}/rest/1/abc123secret/", self.base)
    }

    /// A client builder for an OAuth application of this server: client secret `s3cret`,
    /// access token `old4ccess`, refresh token `oldrefresh`, the token endpoint and the portal
    /// both here; no client-side limiter.
    pub fn oauth_builder(&self) -> bitrix24::ClientBuilder {
        bitrix24::Client::builder()
            .oauth(
                bitrix24::OAuthApp::new("local.6537665f598492.98090704", "s3cret")
                    .token_url(format!("{}/oauth/token/", self.base)),
                bitrix24::OAuthTokens::new(
                    "old4ccess",
                    "oldrefresh",
                    format!("{}/rest/", self.base),
                ),
            )
            .no_rate_limit()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn paths(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.path).collect()
    }
}
