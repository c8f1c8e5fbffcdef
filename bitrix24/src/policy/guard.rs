//! The guardrails around a client: check, plan, idempotency, audit, then one call.

use std::time::Instant;

use serde_json::{Map, Value};

use super::store::params_hash;
use super::{
    AuditLog, AuditRow, Begin, Confirm, Decision, IdempotencyStore, Plan, PlanStore, Policy,
    PolicyError, unix_now,
};
use crate::{Client, Error, Response};

/// What to call.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A method with params.
    Call {
        /// The method name.
        method: String,
        /// Its params (a JSON object).
        params: Value,
    },
    /// A stored plan.
    Plan {
        /// The plan id.
        id: String,
        /// The method the caller expects the plan to call, if it said one.
        method: Option<String>,
    },
}

/// Per-call options.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallOptions {
    /// The confirmations given.
    pub confirm: Confirm,
    /// An explicit idempotency key.
    pub idempotency_key: Option<String>,
    /// Whether writes go through the idempotency store (when the guard has one).
    pub idempotency: bool,
    /// The API generation asked for, for the audit row (`v2`, `v3`, `auto`).
    pub api: String,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions {
            confirm: Confirm::none(),
            idempotency_key: None,
            idempotency: true,
            api: "v2".to_owned(),
        }
    }
}

impl CallOptions {
    /// Options with these confirmations.
    pub fn confirm(confirm: Confirm) -> Self {
        CallOptions {
            confirm,
            ..CallOptions::default()
        }
    }
}

/// A call that went through.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Outcome {
    /// The response envelope (`result`, and `total`, `next`, `time` when present).
    pub response: Value,
    /// Whether it is a stored response returned without calling the portal.
    pub replayed: bool,
    /// What the policy decided.
    pub decision: Decision,
    /// The plan executed, if any.
    pub plan_id: Option<String>,
    /// The idempotency key, for writes.
    pub idempotency_key: Option<String>,
}

/// Why a guarded call did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// The guardrails refused it: nothing was sent.
    #[error(transparent)]
    Refused(#[from] PolicyError),
    /// The portal or the transport failed.
    #[error(transparent)]
    Failed(Box<Error>),
}

/// A [`Policy`] with its stores and audit trail, for one tenant.
#[derive(Debug, Clone)]
pub struct Guard {
    policy: Policy,
    tenant: String,
    plans: Option<PlanStore>,
    idempotency: Option<IdempotencyStore>,
    audit: Option<AuditLog>,
}

struct Audit<'a> {
    started: Instant,
    request_id: String,
    method: String,
    param_keys: Vec<String>,
    plan_id: &'a str,
    api: &'a str,
}

impl Guard {
    /// A guard for `tenant` (the portal host) with no stores and no audit.
    pub fn new(policy: Policy, tenant: impl Into<String>) -> Self {
        Guard {
            policy,
            tenant: tenant.into(),
            plans: None,
            idempotency: None,
            audit: None,
        }
    }

    /// Adds the plan store.
    #[must_use]
    pub fn plans(mut self, store: PlanStore) -> Self {
        self.plans = Some(store);
        self
    }

    /// Adds the idempotency store.
    #[must_use]
    pub fn idempotency(mut self, store: IdempotencyStore) -> Self {
        self.idempotency = Some(store);
        self
    }

    /// Adds the audit trail.
    #[must_use]
    pub fn audit(mut self, log: AuditLog) -> Self {
        self.audit = Some(log);
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The tenant.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    fn plan_store(&self) -> Result<&PlanStore, PolicyError> {
        self.plans.as_ref().ok_or_else(|| PolicyError::Store {
            path: String::new(),
            reason: "no plan store configured".to_owned(),
        })
    }

    fn row(&self, a: &Audit<'_>, decision: Option<&Decision>) -> AuditRow {
        AuditRow {
            ts: unix_now(),
            request_id: a.request_id.clone(),
            tenant: self.tenant.clone(),
            method: decision.map_or_else(|| a.method.clone(), |d| d.method.clone()),
            risk: decision
                .map(|d| d.risk.as_str().to_owned())
                .unwrap_or_default(),
            allowlisted: decision.is_some_and(|d| d.allowlisted),
            duration_ms: u64::try_from(a.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            param_keys: a.param_keys.clone(),
            plan_id: a.plan_id.to_owned(),
            packs: self.policy.packs().to_vec(),
            api: a.api.to_owned(),
            ..AuditRow::default()
        }
    }

    fn write(&self, row: &AuditRow) {
        if let Some(log) = &self.audit
            && let Err(e) = log.append(row)
        {
            tracing::warn!(error = %e, "audit row not written");
        }
    }

    fn refuse(&self, a: &Audit<'_>, decision: Option<&Decision>, e: PolicyError) -> GuardError {
        let mut row = self.row(a, decision);
        "refused".clone_into(&mut row.decision);
        "refused".clone_into(&mut row.status);
        row.error_code = Some(e.code().to_owned());
        self.write(&row);
        GuardError::Refused(e)
    }

    /// Checks a call and stores it as a plan, without sending anything (confirmations are
    /// asked for at execution).
    pub fn plan(&self, method: &str, params: &Value) -> Result<Plan, PolicyError> {
        let a = Audit {
            started: Instant::now(),
            request_id: request_id(),
            method: method.to_owned(),
            param_keys: keys(params),
            plan_id: "",
            api: "",
        };
        let decision = match self.policy.evaluate(method, params) {
            Ok(d) => d,
            Err(e) => {
                let GuardError::Refused(e) = self.refuse(&a, None, e) else {
                    unreachable!()
                };
                return Err(e);
            }
        };
        let plan =
            self.plan_store()?
                .create(&self.tenant, &decision, params, self.policy.packs())?;
        let mut row = self.row(&a, Some(&decision));
        row.plan_id.clone_from(&plan.plan_id);
        "planned".clone_into(&mut row.decision);
        "planned".clone_into(&mut row.status);
        self.write(&row);
        Ok(plan)
    }

    /// Checks the call (allowlist, risk, confirmations, plan), then sends it once through
    /// `client`, with idempotency for writes and one audit row. A refusal sends nothing.
    pub async fn call(
        &self,
        client: &Client,
        target: Target,
        opts: &CallOptions,
    ) -> Result<Outcome, GuardError> {
        let started = Instant::now();
        let (method, params, plan_id) = match target {
            Target::Call { method, params } => (method, params, None),
            Target::Plan { id, method } => {
                let a = Audit {
                    started,
                    request_id: request_id(),
                    method: method.clone().unwrap_or_default(),
                    param_keys: Vec::new(),
                    plan_id: &id,
                    api: &opts.api,
                };
                let plan = self
                    .plan_store()
                    .and_then(|s| s.get(&id, &self.tenant, method.as_deref()))
                    .map_err(|e| self.refuse(&a, None, e))?;
                (plan.method, plan.params, Some(plan.plan_id))
            }
        };
        let a = Audit {
            started,
            request_id: request_id(),
            method: method.clone(),
            param_keys: keys(&params),
            plan_id: plan_id.as_deref().unwrap_or(""),
            api: &opts.api,
        };
        let decision = self
            .policy
            .evaluate(&method, &params)
            .map_err(|e| self.refuse(&a, None, e))?;
        self.policy
            .authorize(&decision, opts.confirm, plan_id.is_some())
            .map_err(|e| self.refuse(&a, Some(&decision), e))?;

        let hash = params_hash(&decision.method, &params);
        let idem = match &self.idempotency {
            Some(store) if opts.idempotency && decision.is_write() => {
                let key = IdempotencyStore::key_for(
                    &self.tenant,
                    &decision.method,
                    &params,
                    opts.idempotency_key.as_deref(),
                );
                let begin = store
                    .begin(&key, &hash)
                    .map_err(|e| self.refuse(&a, Some(&decision), e))?;
                Some((store, key, begin))
            }
            _ => None,
        };
        if let (Some(id), Some(store)) = (&plan_id, &self.plans)
            && let Err(e) = store.consume(id, &self.tenant, Some(&decision.method))
        {
            if let Some((store, key, Begin::Proceed)) = &idem {
                let _ = store.clear(key);
            }
            return Err(self.refuse(&a, Some(&decision), e));
        }
        let key = idem.as_ref().map(|(_, k, _)| k.clone());
        let mut row = self.row(&a, Some(&decision));
        "allowed".clone_into(&mut row.decision);
        row.idempotency_key = key.clone().unwrap_or_default();

        if let Some((_, _, Begin::Replay(response))) = &idem {
            "idempotent_replay".clone_into(&mut row.status);
            row.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.write(&row);
            return Ok(Outcome {
                response: response.clone(),
                replayed: true,
                decision,
                plan_id,
                idempotency_key: key,
            });
        }

        let result = client.call_full(&decision.method, params).await;
        row.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(response) => {
                let response = envelope(response);
                if let Some((store, key, _)) = &idem
                    && let Err(e) = store.complete(key, &hash, &response)
                {
                    tracing::warn!(error = %e, "idempotency record not stored");
                }
                "ok".clone_into(&mut row.status);
                self.write(&row);
                Ok(Outcome {
                    response,
                    replayed: false,
                    decision,
                    plan_id,
                    idempotency_key: key,
                })
            }
            Err(e) => {
                if let Some((store, key, _)) = &idem {
                    let _ = store.clear(key);
                }
                "error".clone_into(&mut row.status);
                row.error_code = Some(error_code(&e));
                self.write(&row);
                Err(GuardError::Failed(Box::new(e)))
            }
        }
    }
}

/// The portal's error code, else the error's kind in upper case.
pub(crate) fn error_code(e: &Error) -> String {
    e.code()
        .map(|c| c.as_str().to_owned())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| format!("{:?}", e.kind()).to_ascii_uppercase())
}

/// The JSON envelope of a response.
fn envelope(r: Response<Value>) -> Value {
    let mut m = Map::new();
    m.insert("result".to_owned(), r.result);
    if let Some(t) = r.total {
        m.insert("total".to_owned(), t.into());
    }
    if let Some(n) = r.next {
        m.insert("next".to_owned(), n.into());
    }
    if let Some(t) = r.time
        && let Ok(t) = serde_json::to_value(t)
    {
        m.insert("time".to_owned(), t);
    }
    Value::Object(m)
}

fn keys(params: &Value) -> Vec<String> {
    let mut k: Vec<String> = params
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

fn request_id() -> String {
    format!("{:012x}", fastrand::u64(..) & 0xffff_ffff_ffff)
}
