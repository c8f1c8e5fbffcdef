//! Property test: random bodies to every route never panic and always get a JSON envelope.

use bitrix24_emulator::{Emulator, Limits};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("fields".to_string()),
        Just("filter".to_string()),
        Just("select".to_string()),
        Just("order".to_string()),
        Just("start".to_string()),
        Just("id".to_string()),
        Just("ID".to_string()),
        Just("cmd".to_string()),
        Just("halt".to_string()),
        Just("entityTypeId".to_string()),
        Just("taskId".to_string()),
        Just(">ID".to_string()),
        Just("%TITLE".to_string()),
        Just("@ID".to_string()),
        Just("TITLE".to_string()),
        Just("event".to_string()),
        Just("clear".to_string()),
        Just("pagination".to_string()),
        "[a-zA-Z_>=<!%@]{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        "[ -~]{0,20}".prop_map(Value::String),
        Just(Value::String(
            "crm.deal.list?filter[>ID]=$result[0][49][ID]&start=-1".into()
        )),
        Just(Value::String("batch?cmd[0]=server.time".into())),
        Just(Value::String("$result[a][b][c]".into())),
    ];
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Body {
    Json(Value),
    Raw(Vec<u8>, &'static str),
    Form(String),
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        json_value().prop_map(Body::Json),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| Body::Raw(b, "application/json")),
        prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| Body::Raw(b, "multipart/form-data; boundary=xx")),
        "[a-zA-Z0-9\\[\\]%=&$>.<!@_ -]{0,80}".prop_map(Body::Form),
    ]
}

const ROUTES: &[&str] = &[
    "/rest/server.time",
    "/rest/1/CODE/batch",
    "/rest/1/CODE/crm.deal.list",
    "/rest/1/CODE/crm.deal.add",
    "/rest/1/CODE/crm.deal.update.json",
    "/rest/1/CODE/crm.deal.get/",
    "/rest/1/CODE/crm.item.list",
    "/rest/1/CODE/crm.item.add",
    "/rest/1/CODE/tasks.task.add",
    "/rest/1/CODE/tasks.task.list",
    "/rest/1/CODE/user.get",
    "/rest/1/CODE/methods",
    "/rest/1/CODE/event.offline.get",
    "/rest/1/WRONG/profile",
    "/rest/1/CODE/no.such.method",
    "/rest/api/1/CODE/tasks.task.list",
    "/rest/api/1/CODE/tasks.task.get",
    "/rest/api/1/CODE/tasks.task.add",
    "/rest/api/1/CODE/x.y",
    "/rest/event.offline.get",
    "/rest/batch",
    "/rest/crm.deal.list",
    "/oauth/token/",
];

#[test]
fn random_bodies_get_json_envelopes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emu = rt.block_on(async {
        Emulator::builder()
            .webhook(1, "CODE")
            .limits(Limits::Off)
            .seed_deals(60)
            .start()
            .await
            .unwrap()
    });
    let base = emu.base_url();
    let token = emu.oauth_app().access_token;
    let client = reqwest::Client::new();
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(0..ROUTES.len(), body(), any::<bool>(), any::<bool>()),
            |(route, body, use_get, with_token)| {
                let mut url = format!("{base}{}", ROUTES[route]);
                if with_token && !url.contains("/CODE/") {
                    url = format!("{url}?auth={token}");
                }
                let (status, text) = rt.block_on(async {
                    let req = if use_get {
                        let q = match &body {
                            Body::Form(f) => f.clone(),
                            _ => String::new(),
                        };
                        let sep = if url.contains('?') { '&' } else { '?' };
                        client.get(format!("{url}{sep}{q}"))
                    } else {
                        match &body {
                            Body::Json(v) => client.post(&url).json(v),
                            Body::Raw(b, ct) => client
                                .post(&url)
                                .header("Content-Type", *ct)
                                .body(b.clone()),
                            Body::Form(f) => client
                                .post(&url)
                                .header("Content-Type", "application/x-www-form-urlencoded")
                                .body(f.clone()),
                        }
                    };
                    let r = req.send().await.expect("the emulator answers");
                    (r.status().as_u16(), r.text().await.expect("body"))
                });
                let v: Value = serde_json::from_str(&text)
                    .map_err(|e| TestCaseError::fail(format!("{url}: not JSON ({e}): {text}")))?;
                let ok = v.get("result").is_some()
                    || v.get("error").is_some()
                    || v.get("access_token").is_some();
                prop_assert!(ok, "{url}: {text}");
                prop_assert!(
                    [200, 400, 401, 403, 404, 405, 429, 500, 503].contains(&status),
                    "{url}: {status}"
                );
                if status == 200 && v.get("result").is_some() && !url.contains("/api/") {
                    prop_assert!(v.get("time").is_some(), "{url}: {text}");
                }
                Ok(())
            },
        )
        .unwrap();
    rt.block_on(emu.shutdown());
}
