//! The HTTP layer: listener with connection-kill support, routing, parameter parsing, envelopes,
//! the OAuth token endpoint and fault injection.

use crate::core::{ApiError, Outcome, as_str};
use crate::dispatch;
use crate::http::{
    RestRequest, json_response, take_connector, take_token, webhook_path, xml_response,
};
use crate::php;
use crate::state::{Inner, lock};
use crate::v3;
use axum::body::{Body, Bytes};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::serve::IncomingStream;
use serde_json::{Map, Value, json};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Per-connection control: setting `kill` makes every later write fail, so the connection closes
/// without (the rest of) a response.
#[derive(Clone, Debug)]
pub(crate) struct ConnCtl {
    kill: Arc<AtomicBool>,
}

impl ConnCtl {
    fn kill(&self) {
        self.kill.store(true, Ordering::SeqCst);
    }
}

/// A TCP stream that fails writes once killed.
pub(crate) struct ConnIo {
    stream: TcpStream,
    kill: Arc<AtomicBool>,
}

impl AsyncRead for ConnIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "connection dropped by fault injection",
            )));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The listener handed to `axum::serve`.
pub(crate) struct KillListener(pub TcpListener);

impl axum::serve::Listener for KillListener {
    type Io = ConnIo;
    type Addr = ConnCtl;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    return (
                        ConnIo {
                            stream,
                            kill: kill.clone(),
                        },
                        ConnCtl { kill },
                    );
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnCtl {
            kill: Arc::new(AtomicBool::new(false)),
        })
    }
}

impl Connected<IncomingStream<'_, KillListener>> for ConnCtl {
    fn connect_info(stream: IncomingStream<'_, KillListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// Builds the router.
pub(crate) fn router(inner: Arc<Inner>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(inner)
}

/// Serves on `listener` until the task is aborted or `shutdown` resolves.
pub(crate) async fn serve(
    listener: TcpListener,
    inner: Arc<Inner>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let app = router(inner).into_make_service_with_connect_info::<ConnCtl>();
    let _ = axum::serve(KillListener(listener), app)
        .with_graceful_shutdown(shutdown)
        .await;
}

/// The local address of a std listener.
pub(crate) fn addr_of(l: &TcpListener) -> io::Result<SocketAddr> {
    l.local_addr()
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.status, &e.body())
}

/// The v2 success envelope: result, next, total, time.
pub(crate) fn envelope(o: Outcome, time: Value) -> Value {
    let mut m = Map::new();
    m.insert("result".into(), o.result);
    if let Some(n) = o.next {
        m.insert("next".into(), json!(n));
    }
    if let Some(t) = o.total {
        m.insert("total".into(), json!(t));
    }
    m.insert("time".into(), time);
    Value::Object(m)
}

/// Request parameters: query string + form/JSON body (body wins), PHP rules.
pub(crate) fn build_params(
    method: &Method,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Map<String, Value> {
    let mut params = php::parse_str(query);
    if *method != Method::POST || body.is_empty() {
        return params;
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let body_params: Map<String, Value> = if ct.starts_with("application/json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            Ok(Value::Array(a)) => a
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            _ => Map::new(),
        }
    } else if ct.starts_with("multipart/form-data") {
        parse_multipart(&ct, body)
    } else {
        php::parse_str(&String::from_utf8_lossy(body))
    };
    for (k, v) in body_params {
        params.insert(k, v);
    }
    params
}

fn parse_multipart(ct: &str, body: &[u8]) -> Map<String, Value> {
    let mut form = php::Form::default();
    let Some(boundary) = ct.split(';').find_map(|p| {
        p.trim()
            .strip_prefix("boundary=")
            .map(|b| b.trim_matches('"').to_string())
    }) else {
        return Map::new();
    };
    let text = String::from_utf8_lossy(body);
    let delim = format!("--{boundary}");
    for part in text.split(delim.as_str()) {
        let part = part.strip_prefix("\r\n").unwrap_or(part);
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Some(name) = head.split(';').find_map(|h| {
            h.trim()
                .strip_prefix("name=")
                .map(|n| n.trim_matches('"').to_string())
        }) else {
            continue;
        };
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        // One Form per body: linear even when a too-deep name deletes its variable.
        form.insert(&name, Value::String(value.to_string()));
    }
    form.finish()
}

#[allow(clippy::struct_excessive_bools)]
#[derive(Default)]
struct FaultPlan {
    latency: std::time::Duration,
    drop: bool,
    error: bool,
    lose: bool,
    truncate: bool,
}

fn plan_faults(inner: &Inner) -> FaultPlan {
    let mut f = lock(&inner.faults);
    let cfg = f.cfg.clone();
    let mut roll = |ratio: f64| ratio > 0.0 && f.rng.f64() < ratio;
    FaultPlan {
        latency: cfg.latency,
        drop: roll(cfg.drop_connection_ratio),
        error: roll(cfg.error_5xx_ratio),
        lose: roll(cfg.lose_response_after_write_ratio),
        truncate: roll(cfg.truncate_body_ratio),
    }
}

async fn truncated(resp: Response) -> Response {
    let (parts, body) = resp.into_parts();
    let full = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = full.slice(0..full.len() / 2);
    let chunks: Vec<Result<Bytes, io::Error>> = vec![
        Ok(half),
        Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "truncated by fault injection",
        )),
    ];
    let mut r = Response::from_parts(parts, Body::from_stream(futures::stream::iter(chunks)));
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len()));
    r
}

/// The largest request body served (32 MiB).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

async fn handle(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(ctl): ConnectInfo<ConnCtl>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    // A body over the cap is refused before anything runs (a front end would answer 413; the
    // exact page of a real portal is not documented).
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return axum::response::IntoResponse::into_response((
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "413 Request Entity Too Large",
        ));
    };
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    if path == "/oauth/token" || path == "/oauth/token/" {
        return token_endpoint(&inner, &parts.method, &query, &parts.headers, &body);
    }
    if path == "/oauth/authorize" || path == "/oauth/authorize/" {
        return authorize(&inner, &query);
    }
    let Some(rest) = path.strip_prefix("/rest/") else {
        return json_response(404, &ApiError::method_not_found().body());
    };
    let moved = lock(&inner.moved_to).clone();
    if let Some(base) = moved {
        // The portal changed its address: the old one answers 302 to the same path there.
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        let location = format!("{}{path}{q}", base.trim_end_matches('/'));
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::FOUND;
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return r;
    }
    inner
        .counters
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let plan = plan_faults(&inner);
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    if plan.drop {
        ctl.kill();
        return Response::new(Body::empty());
    }
    if plan.error {
        return error_response(&ApiError::new(
            500,
            "INTERNAL_SERVER_ERROR",
            "Internal server error",
        ));
    }
    let segs: Vec<String> = rest
        .trim_end_matches('/')
        .split('/')
        .map(php::url_decode)
        .collect();
    let v3 = segs.first().is_some_and(|s| s == "api");
    let req = RestRequest {
        segs: &segs[usize::from(v3)..],
        method: &parts.method,
        query: &query,
        headers: &parts.headers,
        body: &body,
    };
    let resp = if v3 {
        v3::handle(&inner, &req)
    } else {
        rest_v2(&inner, &req)
    };
    if plan.lose {
        ctl.kill();
        return resp;
    }
    if plan.truncate {
        return truncated(resp).await;
    }
    resp
}

fn rest_v2(inner: &Arc<Inner>, req: &RestRequest<'_>) -> Response {
    let Some((webhook, name)) = webhook_path(req.segs) else {
        return error_response(&ApiError::method_not_found());
    };
    let mut name = name.to_ascii_lowercase();
    let mut xml = false;
    for suffix in [".json", ".xml"] {
        if let Some(s) = name.strip_suffix(suffix) {
            xml = suffix == ".xml";
            name = s.to_string();
        }
    }
    let respond = |status: u16, body: &Value| {
        if xml {
            xml_response(status, body)
        } else {
            json_response(status, body)
        }
    };
    let error_response = |e: &ApiError| respond(e.status, &e.body());
    let mut params = build_params(req.method, req.query, req.headers, req.body);
    let token = take_token(&mut params, req.headers);
    let connector = take_connector(&mut params);
    if !lock(&inner.limits).admit(inner.now()) {
        return error_response(&ApiError::query_limit());
    }
    let caller = match inner.authenticate(webhook, token.as_deref(), connector) {
        Ok(c) => c,
        Err(e) => return error_response(&e),
    };
    if name.is_empty() {
        return error_response(&ApiError::method_not_found());
    }
    match dispatch::call(inner, &caller, &name, &params, false) {
        Ok(done) => respond(200, &envelope(done.outcome, done.time)),
        Err(e) => error_response(&e),
    }
}

fn oauth_error(status: u16, code: &str, desc: &str) -> Response {
    json_response(status, &json!({"error": code, "error_description": desc}))
}

fn token_endpoint(
    inner: &Arc<Inner>,
    method: &Method,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    inner
        .counters
        .tokens
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = build_params(method, query, headers, body);
    let get = |k: &str| p.get(k).and_then(as_str).unwrap_or_default();
    let grant = get("grant_type");
    let now = inner.now();
    let mut auth = lock(&inner.auth);
    if get("client_id") != auth.client_id || get("client_secret") != auth.client_secret {
        return oauth_error(401, "invalid_client", "Invalid client credentials");
    }
    let user_id = match grant.as_str() {
        "refresh_token" => {
            let rt = get("refresh_token");
            if rt.is_empty() {
                return oauth_error(
                    400,
                    "invalid_request",
                    "No \"refresh_token\" parameter found",
                );
            }
            let Some(old) = auth.refresh.remove(&rt) else {
                return oauth_error(400, "invalid_grant", "Invalid refresh token");
            };
            auth.access.remove(&old.access);
            if old.expires as f64 <= now {
                return oauth_error(400, "invalid_grant", "Refresh token has expired");
            }
            old.user_id
        }
        "authorization_code" => {
            let code = get("code");
            if code.is_empty() {
                return oauth_error(400, "invalid_request", "No \"code\" parameter found");
            }
            match auth.codes.remove(&code) {
                Some((uid, exp)) if exp as f64 > now => uid,
                _ => return oauth_error(400, "invalid_grant", "Invalid authorization code"),
            }
        }
        "" => return oauth_error(400, "invalid_request", "No \"grant_type\" parameter found"),
        _ => return oauth_error(400, "invalid_request", "Unsupported grant type"),
    };
    let (access, refresh, expires) = auth.issue(user_id, now);
    let endpoint = format!("{}/rest/", inner.base_url);
    let body = json!({
        "access_token": access,
        "expires": expires,
        "expires_in": 3600,
        "scope": auth.app_scopes.join(","),
        "domain": inner.host,
        "server_endpoint": endpoint,
        "status": "L",
        "client_endpoint": endpoint,
        "member_id": auth.member_id,
        "user_id": user_id,
        "refresh_token": refresh,
    });
    json_response(200, &body)
}

fn authorize(inner: &Arc<Inner>, query: &str) -> Response {
    let p = php::parse_str(query);
    let get = |k: &str| p.get(k).and_then(as_str).unwrap_or_default();
    let now = inner.now();
    let mut auth = lock(&inner.auth);
    if get("client_id") != auth.client_id {
        return oauth_error(400, "invalid_client", "Invalid client");
    }
    let code = php::secret_hex(32);
    auth.codes.insert(code.clone(), (1, now as i64 + 30));
    // The emulator's app has no redirect_uri, and for such an app the portal shows the code on
    // its page for the user to copy (auth-events-v3 §1.2). The code is for user 1 and lives 30 s.
    let mut r = Response::new(Body::from(format!(
        "<html><body><p>Authorization code:</p><p><code>{code}</code></p></body></html>"
    )));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}
