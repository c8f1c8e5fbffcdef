//! Issue 16 point 6: every specced method, called once through the client against the emulator,
//! answers, and its answer decodes into the method's typed response.
//!
//! The method list (pack, request type, name, required parameters filled from their types) is
//! `method_types.rs`, written by the build script next to the generated packs
//! (`bitrix24_codegen::method_types`). Writes run first, so the reads and the deletes of a
//! prefix find the entity its `add` made; deletes run last. The test prints the counts
//! (answered, decoded, answered from a documented example or from the type only, failing with
//! the names) and, with every pack enabled, holds a floor so they cannot regress.
#![allow(deprecated)]

use bitrix24::{ApiVersion, Client, Error, ErrorCode, RetryPolicy};
use bitrix24_emulator::{DocumentedAnswer, Emulator};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// One specced method: its name, whether it exists on REST 3.0 only, its required parameters
/// (JSON) and the decoder of its typed response.
struct Typed {
    name: &'static str,
    v3: bool,
    params: &'static str,
    decode: fn(Value) -> Result<(), String>,
}

/// Decodes `result` as the client does for `M`.
fn decode<M: bitrix24::Method>(result: Value) -> Result<(), String> {
    M::decode_response(result)
        .map(drop)
        .map_err(|e| e.to_string())
}

macro_rules! bitrix24_method_types {
    ($($pack:literal $module:ident $ty:ident $name:literal $v3:literal $params:literal;)*) => {
        /// Every specced method of the enabled packs.
        const TYPED: &[Typed] = &[$(
            #[cfg(feature = $pack)]
            Typed {
                name: $name,
                v3: $v3,
                params: $params,
                decode: decode::<bitrix24::packs::$module::$ty>,
            },
        )*];
    };
}

include!(concat!(
    env!("OUT_DIR"),
    "/bitrix24-generated/method_types.rs"
));

/// The floor of answered-and-decoded methods with every pack enabled (the count reached).
const DECODED_FLOOR: usize = 1178;

/// The order of the sweep: `add` first, then the rest, `delete` last.
fn rank(name: &str) -> u8 {
    match name.rsplit('.').next().unwrap_or("") {
        "add" => 0,
        "delete" => 2,
        _ => 1,
    }
}

/// What the sweep saw.
#[derive(Default)]
struct Counts {
    answered: usize,
    decoded: usize,
    example: usize,
    type_only: usize,
    not_served: Vec<&'static str>,
    failing: Vec<String>,
}

/// The id an `add` answered (`5`, `"5"`, `{"id": 5}`, `{"item": {"id": 5}}`), if any.
fn created_id(result: &Value) -> Option<Value> {
    match result {
        Value::Number(_) => Some(result.clone()),
        Value::String(s) if s.parse::<u64>().is_ok() => Some(result.clone()),
        Value::Object(m) => ["id", "ID"]
            .iter()
            .find_map(|k| m.get(*k).cloned())
            .or_else(|| (m.len() == 1).then(|| m.values().find_map(created_id))?),
        _ => None,
    }
}

/// The parameters of `t`: its required ones, the `id`-typed ones set to the id the `add` of the
/// same prefix answered.
fn params_of(t: &Typed, ids: &HashMap<&str, Value>) -> Value {
    let mut p: Value = serde_json::from_str(t.params).expect("the generated params are JSON");
    let prefix = t.name.rsplit_once('.').map_or(t.name, |(p, _)| p);
    let (Some(id), Some(info), Some(map)) = (
        ids.get(prefix),
        bitrix24::catalog::method_info(t.name),
        p.as_object_mut(),
    ) else {
        return p;
    };
    for param in info.params.iter().filter(|x| x.required && x.ty == "id") {
        map.insert(param.name.to_owned(), id.clone());
    }
    p
}

/// The stack of the sweep's threads: the typed decoders of the largest responses nest deeply
/// in a debug build.
const STACK: usize = 64 << 20;

#[test]
fn every_specced_method_answers_and_decodes() {
    let runtime = |workers: usize| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_stack_size(STACK)
            .enable_all()
            .build()
            .expect("runtime")
    };
    // The emulator runs on its own runtime: a method that never answers costs the sweep its
    // timeout, not the client's timer.
    let portal = runtime(8);
    let emu = portal
        .block_on(
            Emulator::builder()
                .webhook(1, "sweep")
                .operating_limit_secs(1e9)
                .start(),
        )
        .expect("emulator");
    let client = runtime(2);
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || client.block_on(sweep(&emu)))
        .expect("thread")
        .join()
        .expect("the sweep");
    drop(portal);
}

async fn sweep(emu: &bitrix24_emulator::RunningEmulator) {
    let client = |v: ApiVersion| {
        Client::builder()
            .webhook(&emu.webhook_url())
            .no_rate_limit()
            .retry(RetryPolicy::none())
            .api_version(v)
            .build()
            .expect("client")
    };
    let (v2, v3) = (client(ApiVersion::V2), client(ApiVersion::V3));
    let mut order: Vec<&Typed> = TYPED.iter().collect();
    order.sort_by_key(|t| rank(t.name));
    let mut ids: HashMap<&str, Value> = HashMap::new();
    let mut n = Counts::default();
    for t in order {
        let c = if t.v3 { &v3 } else { &v2 };
        let call = c.call(t.name, params_of(t, &ids));
        let Ok(answer) = tokio::time::timeout(Duration::from_secs(3), call).await else {
            n.failing.push(format!("{}: no answer in 3 s", t.name));
            continue;
        };
        let result = match answer {
            Ok(r) => r,
            Err(Error::Api(e))
                if matches!(
                    e.code,
                    ErrorCode::MethodNotFound | ErrorCode::V3MethodNotFound
                ) =>
            {
                n.not_served.push(t.name);
                continue;
            }
            Err(e) => {
                n.failing.push(format!("{}: {e}", t.name));
                continue;
            }
        };
        n.answered += 1;
        match emu.control().documented_answer(t.name) {
            Some(DocumentedAnswer::Example) => n.example += 1,
            Some(DocumentedAnswer::TypeOnly) => n.type_only += 1,
            _ => {}
        }
        if rank(t.name) == 0
            && let (Some((prefix, _)), Some(id)) = (t.name.rsplit_once('.'), created_id(&result))
        {
            ids.entry(prefix).or_insert(id);
        }
        match (t.decode)(result) {
            Ok(()) => n.decoded += 1,
            Err(e) => n.failing.push(format!("{}: decode: {e}", t.name)),
        }
    }
    println!(
        "{} specced methods: {} answered, {} decoded; {} from a documented example, {} from \
         the type only; {} not served; {} failing",
        TYPED.len(),
        n.answered,
        n.decoded,
        n.example,
        n.type_only,
        n.not_served.len(),
        n.failing.len()
    );
    println!("not served: {:?}", n.not_served);
    for f in &n.failing {
        println!("failing: {f}");
    }
    if cfg!(feature = "full") {
        assert!(
            n.decoded >= DECODED_FLOOR,
            "{} decoded, below the floor {DECODED_FLOOR}",
            n.decoded
        );
    }
}
