//! Message filters: drop or delay chosen messages, for tests and fault
//! injection (Cassandra's in-JVM dtest `IMessageFilters`).
//!
//! A [`FilterRule`] matches on verb, sender IP and receiver IP, each optional
//! (absent = any); its [`FilterAction`] drops the message or delays it. Rules
//! are checked in order and the **first match wins**.
//!
//! **Where rules apply.** Every node has its own [`MessageFilters`] and checks
//! each message once at each end it is on:
//!
//! * on the **sending side**, in `send_one_way`/`send_and_receive`/`respond`,
//!   before the message is queued, with `from` = this node's listen IP and
//!   `to` = the destination IP;
//! * on the **receiving side**, when a frame arrives, before it is handed to a
//!   handler or callback, with `from` = the sender's listen IP (from the frame)
//!   and `to` = this node's listen IP.
//!
//! So the rule "drop `GOSSIP_DIGEST_SYN` from node 1 to node 2" is honoured
//! whether it is installed on node 1 (the SYN is never sent) or on node 2 (it
//! is discarded on arrival), and installing it on both does no harm. A delay
//! rule installed on both ends delays twice. A node sending to itself passes
//! its own filters twice.
//!
//! A dropped message is simply lost, as on a lossy network: a request whose
//! request or response is dropped times out. A delayed message is handed on
//! after the delay by a separate task, so it may overtake or be overtaken by
//! later messages, as on a real network, and a delay does not hold up the
//! connection behind it.
//!
//! **JSON** (for the admin endpoint): a rule is
//! `{"verb": "GOSSIP_DIGEST_SYN", "from": "127.0.0.1", "to": null, "action": "drop"}`;
//! absent or `null` fields match anything; the action is `"drop"` (or
//! `{"drop": null}`) or `{"delay_ms": 250}`. Verb names are
//! [`Verb::name`]s (exact, upper case); [`MessageFilters::set`] and
//! [`MessageFilters::add`] refuse unknown ones.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::NetError;
use super::verb::Verb;

/// At most this many rules at once: filters are for tests and fault
/// injection, and every message walks the list, so it must stay short.
pub const MAX_FILTER_RULES: usize = 256;

/// What a matching rule does to a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ActionRepr", into = "ActionRepr")]
pub enum FilterAction {
    /// The message is discarded.
    Drop,
    /// The message is handed on after this long.
    Delay(Duration),
}

/// The JSON form of [`FilterAction`]: `"drop"` or `{"delay_ms": n}`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ActionRepr {
    Drop,
    DelayMs(u64),
}

impl From<ActionRepr> for FilterAction {
    fn from(repr: ActionRepr) -> FilterAction {
        match repr {
            ActionRepr::Drop => FilterAction::Drop,
            ActionRepr::DelayMs(ms) => FilterAction::Delay(Duration::from_millis(ms)),
        }
    }
}

impl From<FilterAction> for ActionRepr {
    fn from(action: FilterAction) -> ActionRepr {
        match action {
            FilterAction::Drop => ActionRepr::Drop,
            FilterAction::Delay(d) => {
                ActionRepr::DelayMs(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            }
        }
    }
}

/// One rule: which messages, and what to do with them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterRule {
    /// A [`Verb::name`]; `None` matches every verb.
    #[serde(default)]
    pub verb: Option<String>,
    /// The sender's listen IP; `None` matches every sender.
    #[serde(default)]
    pub from: Option<IpAddr>,
    /// The receiver's listen IP; `None` matches every receiver.
    #[serde(default)]
    pub to: Option<IpAddr>,
    pub action: FilterAction,
}

impl FilterRule {
    /// A rule dropping `verb` (any if `None`) from `from` to `to`.
    pub fn drop(verb: Option<Verb>, from: Option<IpAddr>, to: Option<IpAddr>) -> FilterRule {
        FilterRule {
            verb: verb.map(|v| v.name().to_string()),
            from,
            to,
            action: FilterAction::Drop,
        }
    }

    /// A rule delaying `verb` (any if `None`) from `from` to `to` by `delay`.
    pub fn delay(
        verb: Option<Verb>,
        from: Option<IpAddr>,
        to: Option<IpAddr>,
        delay: Duration,
    ) -> FilterRule {
        FilterRule {
            action: FilterAction::Delay(delay),
            ..FilterRule::drop(verb, from, to)
        }
    }
}

/// A rule with its verb resolved, as the hot path matches it.
#[derive(Clone, Debug)]
struct Compiled {
    rule: FilterRule,
    verb: Option<Verb>,
}

impl Compiled {
    fn new(rule: FilterRule) -> Result<Compiled, NetError> {
        let verb = match &rule.verb {
            None => None,
            Some(name) => Some(
                Verb::from_name(name)
                    .ok_or_else(|| NetError::InvalidFilter(format!("unknown verb {name:?}")))?,
            ),
        };
        Ok(Compiled { rule, verb })
    }

    fn matches(&self, verb: Verb, from: IpAddr, to: IpAddr) -> bool {
        self.verb.is_none_or(|v| v == verb)
            && self.rule.from.is_none_or(|ip| ip == from)
            && self.rule.to.is_none_or(|ip| ip == to)
    }
}

/// How many messages the filters have acted on since the service started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FilterCounts {
    pub dropped: u64,
    pub delayed: u64,
}

/// The node's filter rules. Cheap when empty: one atomic load per message.
#[derive(Debug, Default)]
pub struct MessageFilters {
    // A std RwLock, never held across an await: reads are a short scan.
    rules: RwLock<Vec<Compiled>>,
    any: AtomicBool,
    dropped: AtomicU64,
    delayed: AtomicU64,
}

impl MessageFilters {
    pub fn new() -> MessageFilters {
        MessageFilters::default()
    }

    /// Replaces every rule. Refuses the whole list (changing nothing) if a
    /// verb name is unknown or there are more than [`MAX_FILTER_RULES`].
    pub fn set(&self, rules: Vec<FilterRule>) -> Result<(), NetError> {
        check_count(rules.len())?;
        let compiled = rules
            .into_iter()
            .map(Compiled::new)
            .collect::<Result<Vec<_>, _>>()?;
        let mut guard = self.rules.write().unwrap_or_else(|e| e.into_inner());
        self.any.store(!compiled.is_empty(), Ordering::Release);
        *guard = compiled;
        Ok(())
    }

    /// Appends a rule (checked after the existing ones).
    pub fn add(&self, rule: FilterRule) -> Result<(), NetError> {
        let compiled = Compiled::new(rule)?;
        let mut guard = self.rules.write().unwrap_or_else(|e| e.into_inner());
        check_count(guard.len() + 1)?;
        guard.push(compiled);
        self.any.store(true, Ordering::Release);
        Ok(())
    }

    /// Removes every rule: delivery is back to normal (messages already
    /// delayed still arrive late).
    pub fn clear(&self) {
        let mut guard = self.rules.write().unwrap_or_else(|e| e.into_inner());
        guard.clear();
        self.any.store(false, Ordering::Release);
    }

    /// The rules, in matching order.
    pub fn list(&self) -> Vec<FilterRule> {
        let guard = self.rules.read().unwrap_or_else(|e| e.into_inner());
        guard.iter().map(|c| c.rule.clone()).collect()
    }

    /// Messages dropped and delayed by rules so far.
    pub fn counts(&self) -> FilterCounts {
        FilterCounts {
            dropped: self.dropped.load(Ordering::Relaxed),
            delayed: self.delayed.load(Ordering::Relaxed),
        }
    }

    /// The action of the first rule matching the message, if any, counted.
    pub fn check(&self, verb: Verb, from: IpAddr, to: IpAddr) -> Option<FilterAction> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let action = {
            let guard = self.rules.read().unwrap_or_else(|e| e.into_inner());
            guard
                .iter()
                .find(|c| c.matches(verb, from, to))
                .map(|c| c.rule.action)
        };
        match action {
            Some(FilterAction::Drop) => self.dropped.fetch_add(1, Ordering::Relaxed),
            Some(FilterAction::Delay(_)) => self.delayed.fetch_add(1, Ordering::Relaxed),
            None => 0,
        };
        action
    }
}

fn check_count(n: usize) -> Result<(), NetError> {
    if n > MAX_FILTER_RULES {
        return Err(NetError::InvalidFilter(format!(
            "{n} rules, at most {MAX_FILTER_RULES} allowed"
        )));
    }
    Ok(())
}
