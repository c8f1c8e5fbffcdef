//! Packs, allowlist patterns, risk, confirmations.

use serde_json::{Map, Value};

use super::PolicyError;
use crate::Risk;
use crate::catalog;
use crate::input::{json_kind, method_name_problem};

/// The packs a policy starts with.
pub const DEFAULT_PACKS: &[&str] = &["core"];

/// Patterns every policy allows, whatever its packs (`batch`: its commands are checked one by
/// one).
pub const BASE_ALLOWLIST: &[&str] = &["batch"];

/// The most commands one `batch` takes.
pub const MAX_BATCH_COMMANDS: usize = 50;

/// The method patterns of each pack. A pack also allows every method the specs file under it
/// ([`crate::catalog::MethodInfo::pack`]).
pub const PACK_PATTERNS: &[(&str, &[&str])] = &[
    (
        "core",
        &[
            "batch",
            "user.*",
            "department.*",
            "crm.*",
            "tasks.task.*",
            "task.*",
            "event.*",
        ],
    ),
    (
        "comms",
        &[
            "im.*",
            "imbot.*",
            "imopenlines.*",
            "imconnector.*",
            "messageservice.*",
            "mailservice.*",
            "telephony.*",
        ],
    ),
    ("automation", &["bizproc.*", "crm.automation.*", "lists.*"]),
    (
        "collab",
        &[
            "sonet_group.*",
            "socialnetwork.*",
            "log.*",
            "calendar.*",
            "vote.*",
        ],
    ),
    (
        "content",
        &["disk.*", "file.*", "files.*", "documentgenerator.*"],
    ),
    ("boards", &["tasks.api.scrum.*", "tasks.scrum.*"]),
    ("commerce", &["sale.*", "catalog.*"]),
    ("services", &["booking.*", "calendar.*", "timeman.*"]),
    ("platform", &["entity.*", "biconnector.*", "ai.*"]),
    ("sites", &["landing.*"]),
    ("compliance", &["userconsent.*", "sign.*"]),
    (
        "diagnostics",
        &[
            "method.get",
            "methods",
            "events",
            "feature.get",
            "scope",
            "server.time",
        ],
    ),
];

/// The patterns of one pack.
pub fn pack_patterns(pack: &str) -> Option<&'static [&'static str]> {
    PACK_PATTERNS
        .iter()
        .find(|(name, _)| *name == pack)
        .map(|(_, p)| *p)
}

fn available_packs() -> String {
    let mut names: Vec<&str> = PACK_PATTERNS.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    names.join(", ")
}

/// Parses a comma-separated pack list: empty means [`DEFAULT_PACKS`], `none` means no pack,
/// duplicates are dropped, an unknown name is an error.
pub fn parse_packs(raw: &str) -> Result<Vec<String>, PolicyError> {
    let names: Vec<String> = raw
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(DEFAULT_PACKS.iter().map(|s| (*s).to_owned()).collect());
    }
    if names == ["none"] {
        return Ok(Vec::new());
    }
    let mut out: Vec<String> = Vec::new();
    for name in names {
        if pack_patterns(&name).is_none() {
            return Err(PolicyError::UnknownPack {
                name,
                available: available_packs(),
            });
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// Parses a comma-separated pattern list (`crm.*,user.get`). Empty entries are skipped.
pub fn parse_allowlist(raw: &str) -> Result<Vec<Pattern>, PolicyError> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Pattern::new)
        .collect()
}

/// A method-name glob: lower-case letters, digits, `_` and `.`, with `*` for any run of
/// characters and `?` for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    /// Checks and lower-cases a pattern.
    pub fn new(raw: &str) -> Result<Self, PolicyError> {
        let p = raw.trim().to_ascii_lowercase();
        let bad = |reason: &str| PolicyError::InvalidPattern {
            pattern: raw.to_owned(),
            reason: reason.to_owned(),
        };
        if p.is_empty() {
            return Err(bad("empty pattern"));
        }
        if let Some(c) = p
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '*' | '?')))
        {
            return Err(bad(&format!(
                "`{c}` is not allowed; use letters, digits, `_`, `.`, `*` and `?`"
            )));
        }
        if p.starts_with('.') || p.ends_with('.') || p.contains("..") {
            return Err(bad("empty name segment"));
        }
        Ok(Pattern(p))
    }

    /// The pattern text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a (lower-case) method name matches.
    pub fn matches(&self, method: &str) -> bool {
        glob(self.0.as_bytes(), method.to_ascii_lowercase().as_bytes())
    }
}

/// `*` and `?` globbing, iterative with one backtrack point.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Checks a method name with the rule the client applies to every call (letters, digits,
/// `.`, `_` and `-`: the characters Bitrix24 method names use) and lower-cases it (the
/// portal's names are case-insensitive).
pub fn normalize_method(raw: &str) -> Result<String, PolicyError> {
    let m = raw.trim();
    match method_name_problem(m) {
        None => Ok(m.to_ascii_lowercase()),
        Some(reason) => Err(PolicyError::InvalidMethod {
            method: raw.to_owned(),
            reason,
        }),
    }
}

/// Orders risks: read < write < destructive; `mixed` (a container whose commands are not
/// known) counts as destructive.
pub fn risk_rank(risk: Risk) -> u8 {
    match risk {
        Risk::Read => 0,
        Risk::Write => 1,
        Risk::Destructive | Risk::Mixed => 2,
    }
}

fn max_risk(a: Risk, b: Risk) -> Risk {
    if risk_rank(b) > risk_rank(a) { b } else { a }
}

/// The confirmations given with a call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Confirm {
    /// `--confirm-write`: writes may run.
    pub write: bool,
    /// `--confirm-destructive`: destructive calls may run.
    pub destructive: bool,
}

impl Confirm {
    /// No confirmation: reads only.
    pub const fn none() -> Self {
        Confirm {
            write: false,
            destructive: false,
        }
    }

    /// Writes confirmed.
    pub const fn write() -> Self {
        Confirm {
            write: true,
            destructive: false,
        }
    }

    /// Writes and destructive calls confirmed.
    pub const fn all() -> Self {
        Confirm {
            write: true,
            destructive: true,
        }
    }
}

/// What the policy found about one command of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandDecision {
    /// The key in `cmd`.
    pub key: String,
    /// The command's method (lower-case).
    pub method: String,
    /// Its risk.
    pub risk: Risk,
    /// Whether the specs know it (else its risk was guessed from its name).
    pub specced: bool,
    /// Whether the allowlist lists it.
    pub allowlisted: bool,
}

/// What the policy found about a call: the normalized method, its risk and where the risk
/// came from. Never [`Risk::Mixed`]: a batch takes the risk of its riskiest command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// The method (lower-case).
    pub method: String,
    /// The risk of the call.
    pub risk: Risk,
    /// Whether the risk comes from the specs for the method and every batch command.
    pub specced: bool,
    /// Whether the allowlist lists the method and every batch command (false when
    /// `allow_unlisted` let it through).
    pub allowlisted: bool,
    /// For a batch, its commands in order.
    pub commands: Vec<CommandDecision>,
    /// Remarks, such as a risk guessed from a name the specs do not know.
    pub notes: Vec<String>,
}

impl Decision {
    /// Whether the call changes the portal (write or destructive).
    pub fn is_write(&self) -> bool {
        risk_rank(self.risk) > 0
    }
}

/// The risk of a single (non-batch) method: from the specs, else guessed from its last name
/// segment, and then `Write` unless the verb reads (the guess errs on the careful side).
fn method_risk(method: &str) -> (Risk, bool) {
    if let Some(info) = catalog::method_info(method) {
        return (info.risk, true);
    }
    let verb = method.rsplit('.').next().unwrap_or(method);
    let risk = match verb {
        "delete" | "remove" | "recyclebin" | "unregister" | "unbind" | "clear" | "destroy" => {
            Risk::Destructive
        }
        "add" | "update" | "set" | "register" | "bind" | "import" | "complete" | "start"
        | "stop" | "move" | "send" | "create" | "upload" | "attach" => Risk::Write,
        "get" | "list" | "fields" | "current" | "search" | "count" | "info" | "time" | "tail"
        | "aggregate" | "scope" | "methods" | "events" | "version" => Risk::Read,
        v if v.starts_with("get") || v.starts_with("list") => Risk::Read,
        _ => Risk::Write,
    };
    (risk, false)
}

/// The allowlist: packs and patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    packs: Vec<String>,
    patterns: Vec<Pattern>,
    allow_unlisted: bool,
    require_plan: bool,
}

impl Default for Policy {
    /// Packs [`DEFAULT_PACKS`], patterns [`BASE_ALLOWLIST`].
    fn default() -> Self {
        Policy {
            packs: DEFAULT_PACKS.iter().map(|s| (*s).to_owned()).collect(),
            patterns: BASE_ALLOWLIST
                .iter()
                .map(|p| Pattern((*p).to_owned()))
                .collect(),
            allow_unlisted: false,
            require_plan: false,
        }
    }
}

impl Policy {
    /// A policy from a pack list and a pattern list, both comma-separated, as in `--packs`
    /// and `--method-allowlist` (see [`parse_packs`], [`parse_allowlist`]).
    pub fn from_lists(packs: &str, allowlist: &str) -> Result<Self, PolicyError> {
        let mut policy = Policy {
            packs: parse_packs(packs)?,
            ..Policy::default()
        };
        for p in parse_allowlist(allowlist)? {
            if !policy.patterns.contains(&p) {
                policy.patterns.push(p);
            }
        }
        Ok(policy)
    }

    /// Adds one pattern.
    pub fn allow(mut self, pattern: &str) -> Result<Self, PolicyError> {
        let p = Pattern::new(pattern)?;
        if !self.patterns.contains(&p) {
            self.patterns.push(p);
        }
        Ok(self)
    }

    /// Lets methods outside the allowlist through (they are still risk-checked).
    #[must_use]
    pub fn allow_unlisted(mut self, yes: bool) -> Self {
        self.allow_unlisted = yes;
        self
    }

    /// Requires plan then execute for writes and destructive calls.
    #[must_use]
    pub fn require_plan(mut self, yes: bool) -> Self {
        self.require_plan = yes;
        self
    }

    /// Whether writes need a plan.
    pub fn requires_plan(&self) -> bool {
        self.require_plan
    }

    /// The selected packs.
    pub fn packs(&self) -> &[String] {
        &self.packs
    }

    /// The explicit patterns (packs' patterns not included).
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether the allowlist lists a (lower-case) method: an explicit pattern, a pack
    /// pattern, or a specced method of a selected pack.
    pub fn is_listed(&self, method: &str) -> bool {
        let m = method.to_ascii_lowercase();
        if self.patterns.iter().any(|p| p.matches(&m)) {
            return true;
        }
        for pack in &self.packs {
            if pack_patterns(pack)
                .is_some_and(|ps| ps.iter().any(|p| glob(p.as_bytes(), m.as_bytes())))
            {
                return true;
            }
        }
        catalog::method_info(&m).is_some_and(|info| self.packs.iter().any(|p| p == info.pack))
    }

    /// Validates a call and finds its risk, without looking at confirmations: the method name,
    /// the params (an object; for `batch`, `cmd` of 1 to 50 string commands, none a batch),
    /// and the allowlist for the method and each batch command.
    pub fn evaluate(&self, method: &str, params: &Value) -> Result<Decision, PolicyError> {
        let method = normalize_method(method)?;
        let Value::Object(map) = params else {
            return Err(PolicyError::InvalidParams {
                method,
                reason: format!("params must be a JSON object, got {}", json_kind(params)),
            });
        };
        let mut decision = if method == "batch" {
            self.evaluate_batch(map)?
        } else {
            let (risk, specced) = method_risk(&method);
            let mut notes = Vec::new();
            if !specced {
                notes.push(format!(
                    "'{method}' is not in the specs: risk {risk} guessed from its name"
                ));
            }
            let risk = if risk == Risk::Mixed {
                notes.push(format!(
                    "'{method}' is a container in the specs: treated as destructive"
                ));
                Risk::Destructive
            } else {
                risk
            };
            Decision {
                method: method.clone(),
                risk,
                specced,
                allowlisted: true,
                commands: Vec::new(),
                notes,
            }
        };
        if !self.is_listed(&method) {
            if !self.allow_unlisted {
                return Err(PolicyError::NotAllowlisted {
                    method,
                    risk: decision.risk,
                });
            }
            decision.allowlisted = false;
        }
        Ok(decision)
    }

    fn evaluate_batch(&self, map: &Map<String, Value>) -> Result<Decision, PolicyError> {
        let invalid = |reason: String| PolicyError::InvalidParams {
            method: "batch".to_owned(),
            reason,
        };
        let Some(cmd) = map.get("cmd") else {
            return Err(invalid("missing required field 'cmd'".to_owned()));
        };
        let Value::Object(cmd) = cmd else {
            return Err(invalid(format!(
                "'cmd' must be an object of named command strings, got {}",
                json_kind(cmd)
            )));
        };
        if cmd.is_empty() {
            return Err(invalid("'cmd' has no command".to_owned()));
        }
        if cmd.len() > MAX_BATCH_COMMANDS {
            return Err(PolicyError::BatchTooLarge { count: cmd.len() });
        }
        match map.get("halt") {
            None | Some(Value::Bool(_)) => {}
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n <= 1) => {}
            Some(other) => {
                return Err(invalid(format!(
                    "'halt' must be true, false, 0 or 1, got {other}"
                )));
            }
        }
        let mut commands = Vec::with_capacity(cmd.len());
        let mut risk = Risk::Read;
        let mut notes = Vec::new();
        let mut allowlisted = true;
        for (key, command) in cmd {
            let Value::String(command) = command else {
                return Err(invalid(format!(
                    "command '{key}' must be a string `method?query`, got {}",
                    json_kind(command)
                )));
            };
            let name = command.split_once('?').map_or(command.as_str(), |(m, _)| m);
            let name = normalize_method(name).map_err(|e| match e {
                PolicyError::InvalidMethod { method, reason } => {
                    invalid(format!("command '{key}': method {method:?}: {reason}"))
                }
                other => other,
            })?;
            if name == "batch" {
                return Err(PolicyError::NestedBatch { key: key.clone() });
            }
            let (mut cmd_risk, specced) = method_risk(&name);
            if !specced {
                notes.push(format!(
                    "batch command '{key}': '{name}' is not in the specs: risk {cmd_risk} guessed from its name"
                ));
            }
            if cmd_risk == Risk::Mixed {
                cmd_risk = Risk::Destructive;
            }
            let listed = self.is_listed(&name);
            if !listed {
                if !self.allow_unlisted {
                    return Err(PolicyError::BatchCommandNotAllowlisted {
                        key: key.clone(),
                        method: name,
                        risk: cmd_risk,
                    });
                }
                allowlisted = false;
            }
            risk = max_risk(risk, cmd_risk);
            commands.push(CommandDecision {
                key: key.clone(),
                method: name,
                risk: cmd_risk,
                specced,
                allowlisted: listed,
            });
        }
        Ok(Decision {
            method: "batch".to_owned(),
            risk,
            specced: commands.iter().all(|c| c.specced),
            allowlisted,
            commands,
            notes,
        })
    }

    /// Checks the confirmations (and the plan requirement) for an evaluated call. `from_plan`
    /// says the call executes a stored plan.
    pub fn authorize(
        &self,
        decision: &Decision,
        confirm: Confirm,
        from_plan: bool,
    ) -> Result<(), PolicyError> {
        if self.require_plan && decision.is_write() && !from_plan {
            return Err(PolicyError::PlanRequired {
                method: decision.method.clone(),
                risk: decision.risk,
            });
        }
        match decision.risk {
            Risk::Write if !confirm.write => Err(PolicyError::ConfirmationRequired {
                method: decision.method.clone(),
                risk: decision.risk,
                flag: "--confirm-write",
            }),
            Risk::Destructive | Risk::Mixed if !confirm.destructive => {
                Err(PolicyError::ConfirmationRequired {
                    method: decision.method.clone(),
                    risk: decision.risk,
                    flag: "--confirm-destructive",
                })
            }
            _ => Ok(()),
        }
    }

    /// [`Policy::evaluate`] then [`Policy::authorize`] for a call that is not from a plan.
    pub fn check(
        &self,
        method: &str,
        params: &Value,
        confirm: Confirm,
    ) -> Result<Decision, PolicyError> {
        let decision = self.evaluate(method, params)?;
        self.authorize(&decision, confirm, false)?;
        Ok(decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn packs_parse_like_the_seed() {
        assert_eq!(parse_packs("").unwrap(), ["core"]);
        assert_eq!(parse_packs(" none ").unwrap(), Vec::<String>::new());
        assert_eq!(parse_packs("Core,comms,core").unwrap(), ["core", "comms"]);
        let e = parse_packs("core,nope").unwrap_err();
        assert_eq!(e.code(), "UNKNOWN_PACK");
        assert!(e.to_string().contains("nope") && e.to_string().contains("diagnostics"));
    }

    #[test]
    fn patterns_glob_and_reject_garbage() {
        let p = Pattern::new("crm.*").unwrap();
        assert!(p.matches("crm.deal.add") && p.matches("CRM.Deal.List"));
        assert!(!p.matches("crmx.deal") && !p.matches("user.get"));
        assert!(Pattern::new("user.?et").unwrap().matches("user.get"));
        assert!(Pattern::new("*").unwrap().matches("anything.at.all"));
        for bad in ["", "crm.*;rm", "crm deal", "crm..x", ".crm", "crm.[a]"] {
            assert!(Pattern::new(bad).is_err(), "{bad:?}");
        }
        assert!(parse_allowlist("crm.*, ,user.get").unwrap().len() == 2);
        assert!(parse_allowlist("crm.*,bad pattern").is_err());
    }

    #[test]
    fn method_names_are_checked() {
        assert_eq!(
            normalize_method(" CRM.Deal.List ").unwrap(),
            "crm.deal.list"
        );
        for bad in [
            "crm.deal.list;rm",
            "crm deal",
            "crm.deal/../x",
            "crm.deal.add?x=1",
            "",
        ] {
            let e = normalize_method(bad).unwrap_err();
            assert_eq!(e.code(), "INVALID_METHOD", "{bad:?}");
        }
    }

    #[test]
    fn one_rule_for_method_names_with_the_client() {
        for name in [
            "ab",
            "x-y.z",
            "crm..x",
            "Crm.Deal.List",
            "a;b",
            "a b",
            "",
            "a/b",
        ] {
            assert_eq!(
                normalize_method(name).is_ok(),
                crate::input::validate_method_name(name.trim()).is_ok(),
                "{name:?}"
            );
        }
    }

    #[test]
    fn risk_comes_from_the_specs() {
        let p = Policy::default();
        let d = p.evaluate("crm.deal.list", &json!({})).unwrap();
        assert_eq!((d.risk, d.specced), (Risk::Read, true));
        assert!(d.notes.is_empty());
        let d = p.evaluate("crm.deal.add", &json!({})).unwrap();
        assert_eq!((d.risk, d.specced), (Risk::Write, true));
        let d = p.evaluate("crm.deal.delete", &json!({"id": 1})).unwrap();
        assert_eq!(d.risk, Risk::Destructive);
        // Every specced method of every pack gets its spec risk, whatever its name says.
        let p = Policy::default().allow_unlisted(true);
        for m in catalog::METHODS.iter().filter(|m| m.name != "batch") {
            let Ok(name) = normalize_method(m.name) else {
                continue;
            };
            let d = p.evaluate(&name, &json!({})).unwrap();
            let want = if m.risk == Risk::Mixed {
                Risk::Destructive
            } else {
                m.risk
            };
            assert_eq!(d.risk, want, "{}", m.name);
            assert!(d.specced);
        }
    }

    #[test]
    fn unspecced_methods_say_their_risk_is_guessed() {
        let p = Policy::default().allow_unlisted(true);
        let d = p.evaluate("crm.nothing.frobnicate", &json!({})).unwrap();
        assert!(!d.specced);
        assert_eq!(d.risk, Risk::Write, "an unknown verb is treated as a write");
        assert!(d.notes[0].contains("not in the specs"));
        let d = p.evaluate("crm.nothing.list", &json!({})).unwrap();
        assert_eq!(d.risk, Risk::Read);
        let d = p.evaluate("crm.nothing.delete", &json!({})).unwrap();
        assert_eq!(d.risk, Risk::Destructive);
    }

    #[test]
    fn allowlist_packs_and_unlisted() {
        let p = Policy::default();
        assert!(p.is_listed("crm.deal.add") && p.is_listed("batch"));
        let e = p.evaluate("im.message.add", &json!({})).unwrap_err();
        assert_eq!(e.code(), "NOT_ALLOWLISTED");
        assert_eq!(e.flag(), Some("--allow-unlisted"));
        assert!(e.to_string().contains("im.message.add"));
        let p = Policy::from_lists("none", "user.get").unwrap();
        assert!(p.is_listed("user.get") && p.is_listed("batch") && !p.is_listed("crm.deal.list"));
        let p = Policy::from_lists("comms", "").unwrap();
        assert!(p.is_listed("im.message.add") && !p.is_listed("crm.deal.list"));
        let d = Policy::from_lists("none", "")
            .unwrap()
            .allow_unlisted(true)
            .evaluate("crm.deal.list", &json!({}))
            .unwrap();
        assert!(!d.allowlisted);
    }

    #[test]
    fn batch_takes_its_riskiest_command_and_checks_each() {
        let p = Policy::default();
        let d = p
            .evaluate(
                "batch",
                &json!({"halt": 0, "cmd": {"a": "crm.deal.list?start=0", "b": "crm.deal.add?fields[TITLE]=x"}}),
            )
            .unwrap();
        assert_eq!(d.risk, Risk::Write);
        assert_eq!(d.commands.len(), 2);
        let d = p
            .evaluate(
                "batch",
                &json!({"cmd": {"a": "crm.deal.delete?id=1", "b": "user.current"}}),
            )
            .unwrap();
        assert_eq!(d.risk, Risk::Destructive);
        let e = p
            .evaluate("batch", &json!({"cmd": {"a": "im.message.add?x=1"}}))
            .unwrap_err();
        assert_eq!(e.code(), "BATCH_COMMAND_NOT_ALLOWLISTED");
        assert!(e.to_string().contains("'a'") && e.to_string().contains("im.message.add"));
        let e = p
            .evaluate("batch", &json!({"cmd": {"a": "batch?cmd[x]=user.current"}}))
            .unwrap_err();
        assert_eq!(e.code(), "NESTED_BATCH");
        let cmd: Map<String, Value> = (0..51)
            .map(|i| (format!("c{i}"), json!("user.current")))
            .collect();
        let e = p.evaluate("batch", &json!({ "cmd": cmd })).unwrap_err();
        assert_eq!(e, PolicyError::BatchTooLarge { count: 51 });
        for bad in [
            json!({}),
            json!({"cmd": {}}),
            json!({"cmd": ["user.current"]}),
            json!({"cmd": {"a": 1}}),
            json!({"cmd": {"a": "user current"}}),
            json!({"cmd": {"a": "user.current"}, "halt": 2}),
        ] {
            assert_eq!(
                p.evaluate("batch", &bad).unwrap_err().code(),
                "INVALID_PARAMS",
                "{bad}"
            );
        }
    }

    #[test]
    fn confirmations_and_plans() {
        let p = Policy::default();
        let e = p
            .check("crm.deal.add", &json!({}), Confirm::none())
            .unwrap_err();
        assert_eq!(e.flag(), Some("--confirm-write"));
        assert!(e.to_string().contains("crm.deal.add") && e.to_string().contains("write"));
        p.check("crm.deal.add", &json!({}), Confirm::write())
            .unwrap();
        let e = p
            .check("crm.deal.delete", &json!({}), Confirm::write())
            .unwrap_err();
        assert_eq!(e.flag(), Some("--confirm-destructive"));
        p.check("crm.deal.delete", &json!({}), Confirm::all())
            .unwrap();
        let p = p.require_plan(true);
        let e = p
            .check("crm.deal.add", &json!({}), Confirm::write())
            .unwrap_err();
        assert_eq!(e.code(), "PLAN_REQUIRED");
        let d = p.evaluate("crm.deal.add", &json!({})).unwrap();
        p.authorize(&d, Confirm::write(), true).unwrap();
        p.check("crm.deal.list", &json!({}), Confirm::none())
            .unwrap();
    }

    #[test]
    fn params_must_be_an_object() {
        let p = Policy::default();
        for bad in [json!([]), json!("x"), json!(1), json!(null)] {
            assert_eq!(
                p.evaluate("crm.deal.list", &bad).unwrap_err().code(),
                "INVALID_PARAMS"
            );
        }
    }
}
