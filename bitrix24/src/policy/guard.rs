//! The guardrails around a client: check, plan, idempotency, audit, then one call.

use std::future::Future;
use std::time::Instant;

use serde_json::{Map, Value};

use super::store::params_hash;
use super::{
    AuditLog, AuditRow, Begin, Confirm, Decision, IdempotencyStore, Plan, PlanStore, Policy,
    PolicyError, unix_now,
};
use crate::{Client, Error, ErrorKind, Response};

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

    /// Writes the audit row of a refusal and hands the refusal back.
    fn refused(&self, a: &Audit<'_>, decision: Option<&Decision>, e: PolicyError) -> PolicyError {
        let mut row = self.row(a, decision);
        "refused".clone_into(&mut row.decision);
        "refused".clone_into(&mut row.status);
        row.error_code = Some(e.code().to_owned());
        self.write(&row);
        e
    }

    fn refuse(&self, a: &Audit<'_>, decision: Option<&Decision>, e: PolicyError) -> GuardError {
        GuardError::Refused(self.refused(a, decision, e))
    }

    fn audit_of(method: &str, params: &Value) -> Audit<'static> {
        Audit {
            started: Instant::now(),
            request_id: request_id(),
            method: method.to_owned(),
            param_keys: keys(params),
            plan_id: "",
            api: "",
        }
    }

    /// Checks a call (allowlist, risk, confirmations) without sending anything, for a tool
    /// that checks all its input before its first request. A refusal is audited like one of
    /// [`Guard::call`]; a call that passes writes no row (sending it will).
    pub fn precheck(
        &self,
        method: &str,
        params: &Value,
        confirm: Confirm,
    ) -> Result<Decision, PolicyError> {
        let a = Self::audit_of(method, params);
        let decision = self
            .policy
            .evaluate(method, params)
            .map_err(|e| self.refused(&a, None, e))?;
        self.policy
            .authorize(&decision, confirm, false)
            .map_err(|e| self.refused(&a, Some(&decision), e))?;
        Ok(decision)
    }

    /// Checks a call and stores it as a plan, without sending anything (confirmations are
    /// asked for at execution).
    pub fn plan(&self, method: &str, params: &Value) -> Result<Plan, PolicyError> {
        let a = Self::audit_of(method, params);
        let decision = self
            .policy
            .evaluate(method, params)
            .map_err(|e| self.refused(&a, None, e))?;
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
        let claim = self.admit(&a, &decision, &params, opts, plan_id.is_some())?;
        if let (Some(id), Some(store)) = (&plan_id, &self.plans)
            && let Err(e) = store.consume(id, &self.tenant, Some(&decision.method))
        {
            if let Some(c) = &claim {
                c.release();
            }
            return Err(self.refuse(&a, Some(&decision), e));
        }
        let name = decision.method.clone();
        // On REST 3.0 the guard's key travels as the `Idempotency-Key` of the write, so the
        // portal too answers a repeat from its store.
        let key = claim
            .as_ref()
            .and_then(|c| crate::IdempotencyKey::new(c.key.clone()).ok());
        let send = async move {
            client
                .call_full_with_key(&name, params, key.as_ref())
                .await
                .map(envelope)
        };
        self.finish(&a, decision, claim, plan_id.clone(), send)
            .await
    }

    /// Checks one unit of work made of several calls to `method` (one set of params each: a
    /// batch request the caller builds), then runs `send` once: every params set is checked
    /// like a call, the confirmations are asked for the method's risk, a write unit claims one
    /// idempotency key (from `opts`, else from the hash of all its params) and one audit row
    /// is written. A refusal runs nothing; a replay returns the stored value of `send`.
    pub async fn call_each<F, Fut>(
        &self,
        method: &str,
        params: &[Value],
        opts: &CallOptions,
        send: F,
    ) -> Result<Outcome, GuardError>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<Value, Error>>,
    {
        let mut param_keys: Vec<String> = params.iter().flat_map(keys).collect();
        param_keys.sort();
        param_keys.dedup();
        let a = Audit {
            started: Instant::now(),
            request_id: request_id(),
            method: method.to_owned(),
            param_keys,
            plan_id: "",
            api: &opts.api,
        };
        let mut decision = None;
        for p in params {
            let d = self
                .policy
                .evaluate(method, p)
                .map_err(|e| self.refuse(&a, None, e))?;
            decision.get_or_insert(d);
        }
        let Some(decision) = decision else {
            let e = PolicyError::InvalidParams {
                method: method.to_owned(),
                reason: "no call to send".to_owned(),
            };
            return Err(self.refuse(&a, None, e));
        };
        let all = Value::Array(params.to_vec());
        let claim = self.admit(&a, &decision, &all, opts, false)?;
        let send = send(decision.method.clone());
        self.finish(&a, decision, claim, None, send).await
    }

    /// Confirmations, plan requirement and, for a write, its idempotency claim.
    fn admit(
        &self,
        a: &Audit<'_>,
        decision: &Decision,
        params: &Value,
        opts: &CallOptions,
        from_plan: bool,
    ) -> Result<Option<Claim<'_>>, GuardError> {
        self.policy
            .authorize(decision, opts.confirm, from_plan)
            .map_err(|e| self.refuse(a, Some(decision), e))?;
        let Some(store) = &self.idempotency else {
            return Ok(None);
        };
        if !opts.idempotency || !decision.is_write() {
            return Ok(None);
        }
        let key = IdempotencyStore::key_for(
            &self.tenant,
            &decision.method,
            params,
            opts.idempotency_key.as_deref(),
        );
        let hash = params_hash(&decision.method, params);
        let begin = store
            .begin(&key, &hash)
            .map_err(|e| self.refuse(a, Some(decision), e))?;
        Ok(Some(Claim {
            store,
            key,
            hash,
            begin,
        }))
    }

    /// Replays a stored result, or awaits `send` and records its outcome (audit row,
    /// idempotency record).
    async fn finish<Fut>(
        &self,
        a: &Audit<'_>,
        decision: Decision,
        claim: Option<Claim<'_>>,
        plan_id: Option<String>,
        send: Fut,
    ) -> Result<Outcome, GuardError>
    where
        Fut: Future<Output = Result<Value, Error>>,
    {
        let key = claim.as_ref().map(|c| c.key.clone());
        let mut row = self.row(a, Some(&decision));
        "allowed".clone_into(&mut row.decision);
        row.idempotency_key = key.clone().unwrap_or_default();
        let outcome = |response, replayed| Outcome {
            response,
            replayed,
            decision: decision.clone(),
            plan_id: plan_id.clone(),
            idempotency_key: key.clone(),
        };
        if let Some(Claim {
            begin: Begin::Replay(response),
            ..
        }) = &claim
        {
            "idempotent_replay".clone_into(&mut row.status);
            self.write(&row);
            return Ok(outcome(response.clone(), true));
        }
        let result = send.await;
        row.duration_ms = u64::try_from(a.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(response) => {
                if let Some(c) = &claim
                    && let Err(e) = c.store.complete(&c.key, &c.hash, &response)
                {
                    tracing::warn!(error = %e, "idempotency record not stored");
                }
                "ok".clone_into(&mut row.status);
                self.write(&row);
                Ok(outcome(response, false))
            }
            Err(e) => {
                if let Some(c) = &claim {
                    if e.kind() == ErrorKind::OutcomeUnknown {
                        // The write may have been applied: the key stays taken, so the call is
                        // not sent again by accident.
                        if let Err(err) = c.store.mark_unknown(&c.key, &c.hash) {
                            tracing::warn!(error = %err, "idempotency record not stored");
                        }
                    } else {
                        c.release();
                    }
                }
                "error".clone_into(&mut row.status);
                row.error_code = Some(error_code(&e));
                self.write(&row);
                Err(GuardError::Failed(Box::new(e)))
            }
        }
    }
}

/// A write's idempotency key, claimed in its store.
struct Claim<'s> {
    store: &'s IdempotencyStore,
    key: String,
    hash: String,
    begin: Begin,
}

impl Claim<'_> {
    /// Gives the key up (nothing was applied), so the call may be tried again.
    fn release(&self) {
        if matches!(self.begin, Begin::Proceed) {
            let _ = self.store.clear(&self.key);
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
