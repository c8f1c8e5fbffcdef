//! The in-memory backend of the policy's stores: for tests and for one long-lived process
//! (lost when it exits).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::PolicyError;
use super::backend::{ClaimBackend, Plan, PlanBackend, PlanEdit};
use crate::claim::{ClaimRecord, ClaimStatus, ClaimTimes, Settlement, Verdict, decide};

/// Plans and idempotency records behind one lock.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    plans: HashMap<String, Plan>,
    claims: HashMap<String, ClaimRecord>,
}

impl Memory {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in another holder leaves maps that are still whole: carry on with them.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl PlanBackend for Memory {
    fn insert(&self, plan: &Plan, drop_before: u64) -> Result<(), PolicyError> {
        let mut s = self.lock();
        s.plans.retain(|_, p| p.expires_at >= drop_before);
        s.plans.insert(plan.plan_id.clone(), plan.clone());
        Ok(())
    }

    fn with_plan(&self, id: &str, f: &mut PlanEdit<'_>) -> Result<Plan, PolicyError> {
        let mut s = self.lock();
        let (plan, changed) = f(s.plans.get(id).cloned())?;
        if changed {
            s.plans.insert(plan.plan_id.clone(), plan.clone());
        }
        Ok(plan)
    }
}

impl ClaimBackend for Memory {
    fn claim(&self, key: &str, fingerprint: &str, t: ClaimTimes) -> Result<Verdict, PolicyError> {
        let mut s = self.lock();
        s.claims.retain(|_, r| r.live(t.now));
        let verdict = decide(s.claims.get(key), fingerprint, t);
        if verdict == Verdict::Proceed {
            let claimed =
                ClaimRecord::new(ClaimStatus::InProgress, fingerprint, None, t.now, t.ttl);
            s.claims.insert(key.to_owned(), claimed);
        }
        Ok(verdict)
    }

    fn settle(&self, s: Settlement<'_>) -> Result<bool, PolicyError> {
        let mut state = self.lock();
        if !s.holds(state.claims.get(s.key)) {
            return Ok(false);
        }
        match s.record {
            Some(r) => state.claims.insert(s.key.to_owned(), r.clone()),
            None => state.claims.remove(s.key),
        };
        Ok(true)
    }
}
