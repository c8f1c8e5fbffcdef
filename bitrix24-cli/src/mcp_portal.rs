//! The `b24 mcp` tools that reach the portal, all through the guard of `b24 call`: a call, a
//! plan and its execution, one bounded page of a list, the offline queue. Refusals say what
//! would allow the call, in terms of tool arguments; replies are cut to the reply cap.

use bitrix24::catalog;
use bitrix24::events::{DeadLetterQueue, SqliteStore};
use bitrix24::policy::{Confirm, GuardError, Outcome, PolicyError, Target, normalize_method};
use serde_json::{Map, Value, json};

use crate::data::rows_of;
use crate::mcp_args::Given;
use crate::mcp_catalog::check_params;
use crate::mcp_server::Server;

/// Rows per offset page of a v2 list.
const PAGE: u64 = 50;
/// Room kept in a reply for what surrounds the rows (total, cursor, notes).
const ENVELOPE: usize = 512;

/// Why a guarded call did not go through, and what would let it.
fn refusal(e: GuardError) -> String {
    match e {
        GuardError::Refused(p) => format!("refused, nothing sent: {}", allow(&p)),
        GuardError::Failed(e) => {
            let code = e.code().map(|c| c.as_str().to_owned()).unwrap_or_default();
            let next = match code.to_ascii_lowercase().as_str() {
                "wrong_auth_type" => {
                    "; next: the method is app-only, so call it with an OAuth app, not a webhook"
                }
                "insufficient_scope" => {
                    "; next: add the scope least_privilege_scopes gives, then reissue the webhook or reinstall the app"
                }
                "expired_token" => {
                    "; next: the token could not be refreshed: reinstall the app or give a new token"
                }
                _ => "",
            };
            format!(
                "Bitrix24 error: code={code} status={} msg={e}{next}",
                e.status().unwrap_or(0)
            )
        }
        other => other.to_string(),
    }
}

/// A refusal in the terms of this server: tool arguments instead of command-line flags.
fn allow(p: &PolicyError) -> String {
    match p {
        PolicyError::ConfirmationRequired {
            method, risk, flag, ..
        } => {
            let arg = if flag.contains("destructive") {
                "confirm_destructive"
            } else {
                "confirm_write"
            };
            format!(
                "{method} has risk {risk}; to allow it, ask the user, then call again with `{arg}: true`"
            )
        }
        PolicyError::NotAllowlisted { method, risk, .. } => {
            let pack = catalog::method_info(method).map_or("", |m| m.pack);
            let how = if pack.is_empty() {
                format!("--method-allowlist {method}")
            } else {
                format!("--packs with {pack}, or --method-allowlist {method}")
            };
            format!(
                "{method} (risk {risk}) is outside this server's allowlist; only the operator can allow it, by restarting `b24 mcp` with {how}"
            )
        }
        PolicyError::PlanRequired { method, risk, .. } => format!(
            "{method} has risk {risk} and this server requires a plan: plan_call, then execute_plan with its plan_id"
        ),
        other => other.to_string(),
    }
}

fn confirm(g: Given<'_>) -> Confirm {
    Confirm {
        write: g.flag("confirm_write"),
        destructive: g.flag("confirm_destructive"),
    }
}

/// The concise answer of a call: `result` (and `total`, `next` of a list), or the whole
/// envelope with `full`.
fn concise(out: Outcome, full: bool, notes: &[String]) -> Value {
    let mut v = if full {
        json!({"response": out.response})
    } else {
        let mut m = Map::new();
        for k in ["result", "total", "next"] {
            if let Some(x) = out.response.get(k).filter(|x| !x.is_null()) {
                m.insert(k.to_owned(), x.clone());
            }
        }
        Value::Object(m)
    };
    if out.replayed {
        v["replayed"] = json!("the stored result of this write: nothing sent");
    }
    if let Some(p) = out.plan_id {
        v["plan_id"] = json!(p);
    }
    if !notes.is_empty() {
        v["notes"] = json!(notes);
    }
    v
}

/// `call_method`.
pub async fn call(s: &Server, g: Given<'_>) -> Result<Value, String> {
    let (guard, client) = s.portal()?;
    let params = g.object("params");
    let method = guard
        .precheck(g.str("method"), &params, confirm(g))
        .map_err(|e| refusal(e.into()))?
        .method;
    let notes = check_params(&method, &params)?;
    let mut opts = s.options(confirm(g));
    let key = g.str("idempotency_key").trim();
    opts.idempotency_key = (!key.is_empty()).then(|| key.to_owned());
    let out = guard
        .call(client, Target::Call { method, params }, &opts)
        .await
        .map_err(refusal)?;
    Ok(concise(out, g.flag("full"), &notes))
}

/// `plan_call`.
pub fn plan(s: &Server, g: Given<'_>) -> Result<Value, String> {
    let (guard, _) = s.portal()?;
    let params = g.object("params");
    let method = normalize_method(g.str("method")).map_err(|e| refusal(e.into()))?;
    let notes = check_params(&method, &params)?;
    let plan = guard
        .plan(&method, &params)
        .map_err(|e| refusal(e.into()))?;
    let arg = match plan.risk.as_str() {
        "destructive" => ", confirm_destructive: true",
        "read" => "",
        _ => ", confirm_write: true",
    };
    let mut v = json!({
        "plan_id": plan.plan_id,
        "method": plan.method,
        "risk": plan.risk,
        "expires_at": plan.expires_at,
        "next": format!("execute_plan {{plan_id: \"{}\"{arg}}} once the user agreed", plan.plan_id),
    });
    if !notes.is_empty() {
        v["notes"] = json!(notes);
    }
    Ok(v)
}

/// `execute_plan`.
pub async fn execute(s: &Server, g: Given<'_>) -> Result<Value, String> {
    let (guard, client) = s.portal()?;
    let method = match g.str("method").trim() {
        "" => None,
        m => Some(normalize_method(m).map_err(|e| refusal(e.into()))?),
    };
    let target = Target::Plan {
        id: g.str("plan_id").trim().to_owned(),
        method,
    };
    let out = guard
        .call(client, target, &s.options(confirm(g)))
        .await
        .map_err(refusal)?;
    Ok(concise(out, g.flag("full"), &[]))
}

/// The offset a cursor stands for.
fn offset_of(cursor: &str) -> Result<u64, String> {
    match cursor.trim() {
        "" => Ok(0),
        c => c.parse().map_err(|_| {
            format!("list_page: bad cursor '{c}': pass the next_cursor of the previous page")
        }),
    }
}

/// `list_page`: from the cursor's offset, whole pages of 50 are read (each a guarded call)
/// until `max_rows` rows or the reply cap is reached; the next cursor is the offset after the
/// last row returned, so a page cut by size loses nothing.
pub async fn list_page(s: &Server, g: Given<'_>) -> Result<Value, String> {
    let (guard, client) = s.portal()?;
    let mut base = g.object("params");
    let method = guard
        .precheck(g.str("method"), &base, Confirm::none())
        .map_err(|e| refusal(e.into()))?
        .method;
    if catalog::method_info(&method).is_some_and(|m| !m.paginated) {
        return Err(format!(
            "list_page: {method} is not a list method; use call_method"
        ));
    }
    let notes = check_params(&method, &base)?;
    let map = base
        .as_object_mut()
        .ok_or("list_page: params must be an object")?;
    map.remove("start");
    if method.starts_with("crm.") && !map.contains_key("order") {
        // A stable order, so that pages neither skip nor repeat rows of a quiet table.
        map.insert("order".into(), json!({"ID": "ASC"}));
    }
    let offset = offset_of(g.str("cursor"))?;
    let max_rows = usize::try_from(g.int("max_rows", 50)).unwrap_or(50);
    let budget = s.max_reply.saturating_sub(ENVELOPE);
    let opts = s.options(Confirm::none());
    let (mut rows, mut used, mut total) = (Vec::new(), 0usize, None);
    let mut start = offset - offset % PAGE;
    let mut skip = usize::try_from(offset % PAGE).unwrap_or(0);
    let mut more = true;
    'pages: while more && rows.len() < max_rows {
        let mut params = base.clone();
        params["start"] = json!(start);
        let target = Target::Call {
            method: method.clone(),
            params,
        };
        let resp = guard
            .call(client, target, &opts)
            .await
            .map_err(refusal)?
            .response;
        total = resp["total"].as_u64().or(total);
        more = resp.get("next").is_some_and(|n| !n.is_null());
        let page = rows_of(resp["result"].clone());
        let got = page.len();
        for row in page.into_iter().skip(skip) {
            let size = row.to_string().len() + 1;
            if rows.len() == max_rows || (used + size > budget && !rows.is_empty()) {
                more = true;
                break 'pages;
            }
            used += size.min(budget);
            rows.push(if size > budget {
                json!({"omitted_bytes": size})
            } else {
                row
            });
        }
        skip = 0;
        start += PAGE;
        more = more && got > 0;
    }
    let next = offset + rows.len() as u64;
    let mut v = json!({
        "rows": rows,
        "total": total,
        "next_cursor": more.then(|| next.to_string()),
    });
    if !notes.is_empty() {
        v["notes"] = json!(notes);
    }
    Ok(v)
}

/// `queue_status`: what waits on the portal and what the local worker dead-lettered.
pub async fn queue_status(s: &Server, g: Given<'_>) -> Result<Value, String> {
    let mut params = json!({});
    let connector = g.str("auth_connector").trim();
    if !connector.is_empty() {
        params["auth_connector"] = json!(connector);
    }
    let portal = match s.portal() {
        Ok((guard, client)) => {
            let target = Target::Call {
                method: "event.offline.list".to_owned(),
                params,
            };
            match guard
                .call(client, target, &s.options(Confirm::none()))
                .await
            {
                Ok(out) => {
                    let r = &out.response;
                    let shown = rows_of(r["result"].clone()).len() as u64;
                    json!({"waiting": r["total"].as_u64().unwrap_or(shown)})
                }
                Err(e) => json!({"error": refusal(e)}),
            }
        }
        Err(e) => json!({"error": e}),
    };
    let local = if s.worker_db.exists() {
        match SqliteStore::open(&s.worker_db).await {
            Ok(store) => match store.list(None, 1000).await {
                Ok(letters) => json!({
                    "db": s.worker_db.display().to_string(),
                    "dead_letters": letters.len(),
                    "oldest": letters.iter().take(3).map(|d| json!({
                        "event": d.event, "message_id": d.message_id,
                        "error": d.error_code, "retries": d.retries,
                    })).collect::<Vec<_>>(),
                }),
                Err(e) => json!({"error": e.to_string()}),
            },
            Err(e) => json!({"error": e.to_string()}),
        }
    } else {
        json!({"db": s.worker_db.display().to_string(), "note": "no worker state yet (b24 worker keeps it)"})
    };
    Ok(json!({"portal": portal, "worker": local}))
}

/// The compact JSON of a reply, at most `cap` bytes: a list result too long keeps the rows
/// that fit and says how many there were; any other value too long is replaced by its size.
pub fn fit(mut v: Value, cap: usize) -> String {
    let text = v.to_string();
    if text.len() <= cap {
        return text;
    }
    let bytes = text.len();
    if let Some(rows) = v.get_mut("result").and_then(Value::as_array_mut) {
        let all = rows.len();
        let mut used = ENVELOPE;
        let keep = rows
            .iter()
            .take_while(|r| {
                used += r.to_string().len() + 1;
                used <= cap
            })
            .count();
        rows.truncate(keep);
        v["truncated"] = json!(format!(
            "{keep} of {all} rows shown (reply cap {cap} bytes): page with list_page"
        ));
        let text = v.to_string();
        if text.len() <= cap {
            return text;
        }
    }
    json!({
        "omitted": format!("the reply is {bytes} bytes, over the cap of {cap}: narrow it (select, filter) or page it with list_page"),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_small_replies_and_cuts_large_ones() {
        let small = json!({"result": [1, 2]});
        assert_eq!(fit(small.clone(), 4096), small.to_string());
        let rows: Vec<Value> = (0..2000)
            .map(|i| json!({"ID": i, "TITLE": "x".repeat(40)}))
            .collect();
        let text = fit(json!({"result": rows}), 4096);
        assert!(text.len() <= 4096, "{}", text.len());
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(v["truncated"].as_str().unwrap().contains("of 2000 rows"));
        let text = fit(json!({"result": "y".repeat(10_000)}), 4096);
        assert!(
            text.len() <= 4096 && text.contains("over the cap"),
            "{text}"
        );
    }

    #[test]
    fn cursors_are_offsets() {
        assert_eq!(offset_of("").unwrap(), 0);
        assert_eq!(offset_of("120").unwrap(), 120);
        assert!(offset_of("abc").unwrap_err().contains("bad cursor"));
    }
}
