//! Pulse rules in the spec's RuleSet form: a trigger (event type, wildcards allowed), a
//! JsonLogic-style condition over a JSON context (twin or account state), and an action
//! `emit_event:<name>`. A rule fires once when its condition becomes true for a subject, not on
//! every event while it stays true.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a rule could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// An operator outside the supported set.
    #[error("rule {rule_id}: unsupported operator {operator:?}")]
    UnsupportedOperator {
        /// The rule.
        rule_id: String,
        /// The operator.
        operator: String,
    },
    /// A malformed condition (wrong arity, not an object).
    #[error("rule {rule_id}: malformed condition: {reason}")]
    Malformed {
        /// The rule.
        rule_id: String,
        /// Why.
        reason: String,
    },
    /// An action other than `emit_event:<name>`.
    #[error("rule {rule_id}: unsupported action {action:?}")]
    UnsupportedAction {
        /// The rule.
        rule_id: String,
        /// The action.
        action: String,
    },
}

/// A client-controlled rule (spec §2.5 `RuleSet`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Its id.
    pub rule_id: String,
    /// Event type pattern (`transaction.created`, `brain.*`).
    pub trigger: String,
    /// JsonLogic-style condition: `and`, `or`, `!`, `==`, `!=`, `<`, `<=`, `>`, `>=` over
    /// literals and `{"var": "dotted.path"}`.
    pub condition: Value,
    /// `emit_event:<name>`.
    pub action: String,
}

/// A rule that fired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fired {
    /// The rule.
    pub rule_id: String,
    /// The subject it fired for (a profile, an account).
    pub subject: String,
    /// The event to emit.
    pub event_name: String,
}

/// Whether `pattern` (with `*` wildcards matching any run of characters) matches `name`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else { return pattern == name };
    let Some(mut rest) = name.strip_prefix(first) else { return false };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

fn lookup<'a>(context: &'a Value, path: &str) -> &'a Value {
    path.split('.').try_fold(context, |v, key| v.get(key)).unwrap_or(&Value::Null)
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                Some(x.cmp(&y))
            } else {
                x.as_f64()?.partial_cmp(&y.as_f64()?)
            }
        }
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
    }
}

impl Rule {
    fn eval(&self, node: &Value, context: &Value) -> Result<Value, RuleError> {
        let Value::Object(map) = node else { return Ok(node.clone()) };
        let malformed = |reason: &str| RuleError::Malformed {
            rule_id: self.rule_id.clone(),
            reason: reason.to_owned(),
        };
        let mut entries = map.iter();
        let (Some((operator, args)), None) = (entries.next(), entries.next()) else {
            return Err(malformed("an operation is an object with exactly one operator"));
        };
        let args: Vec<&Value> = match args {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        let operand = |i: usize| -> Result<Value, RuleError> {
            self.eval(args.get(i).ok_or_else(|| malformed("missing operand"))?, context)
        };
        let ordering = |wanted: &[std::cmp::Ordering]| -> Result<Value, RuleError> {
            if args.len() != 2 {
                return Err(malformed("comparisons take two operands"));
            }
            Ok(Value::Bool(
                compare(&operand(0)?, &operand(1)?).is_some_and(|o| wanted.contains(&o)),
            ))
        };
        use std::cmp::Ordering::{Equal, Greater, Less};
        Ok(match operator.as_str() {
            "var" => match args.first() {
                Some(Value::String(path)) => lookup(context, path).clone(),
                _ => return Err(malformed("var takes a dotted path")),
            },
            "and" => {
                for i in 0..args.len() {
                    if !truthy(&operand(i)?) {
                        return Ok(Value::Bool(false));
                    }
                }
                Value::Bool(true)
            }
            "or" => {
                for i in 0..args.len() {
                    if truthy(&operand(i)?) {
                        return Ok(Value::Bool(true));
                    }
                }
                Value::Bool(false)
            }
            "!" => Value::Bool(!truthy(&operand(0)?)),
            "==" => Value::Bool(args.len() == 2 && operand(0)? == operand(1)?),
            "!=" => Value::Bool(args.len() == 2 && operand(0)? != operand(1)?),
            "<" => ordering(&[Less])?,
            "<=" => ordering(&[Less, Equal])?,
            ">" => ordering(&[Greater])?,
            ">=" => ordering(&[Greater, Equal])?,
            other => {
                return Err(RuleError::UnsupportedOperator {
                    rule_id: self.rule_id.clone(),
                    operator: other.to_owned(),
                });
            }
        })
    }

    /// Evaluates the condition against `context`.
    ///
    /// # Errors
    /// [`RuleError`] for an unsupported operator or a malformed condition.
    pub fn holds(&self, context: &Value) -> Result<bool, RuleError> {
        Ok(truthy(&self.eval(&self.condition, context)?))
    }

    fn event_name(&self) -> Result<&str, RuleError> {
        self.action.strip_prefix("emit_event:").filter(|n| !n.is_empty()).ok_or_else(|| {
            RuleError::UnsupportedAction {
                rule_id: self.rule_id.clone(),
                action: self.action.clone(),
            }
        })
    }
}

/// Rules plus, per (rule, subject), whether the condition held last time: the state that makes a
/// rule fire on the transition only. Serializable, so a projection can keep it with its
/// checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleEngine {
    rules: Vec<Rule>,
    holding: BTreeMap<String, BTreeMap<String, bool>>,
}

impl RuleEngine {
    /// An engine over `rules`, checking every action now.
    ///
    /// # Errors
    /// [`RuleError::UnsupportedAction`].
    pub fn new(rules: Vec<Rule>) -> Result<Self, RuleError> {
        for rule in &rules {
            rule.event_name()?;
        }
        Ok(Self { rules, holding: BTreeMap::new() })
    }

    /// Forgets the rule state of `subject` (an erased person's account).
    pub fn forget(&mut self, subject: &str) {
        self.holding.remove(subject);
    }

    /// Evaluates the rules triggered by `event_type` for `subject` against `context`; returns
    /// those whose condition just became true.
    ///
    /// # Errors
    /// [`RuleError`] from a condition (nothing changes then).
    pub fn on_event(
        &mut self,
        event_type: &str,
        subject: &str,
        context: &Value,
    ) -> Result<Vec<Fired>, RuleError> {
        let mut updates = Vec::new();
        let mut fired = Vec::new();
        for rule in self.rules.iter().filter(|r| matches(&r.trigger, event_type)) {
            let now = rule.holds(context)?;
            let before = self
                .holding
                .get(&rule.rule_id)
                .and_then(|m| m.get(subject))
                .copied()
                .unwrap_or(false);
            if now && !before {
                fired.push(Fired {
                    rule_id: rule.rule_id.clone(),
                    subject: subject.to_owned(),
                    event_name: rule.event_name()?.to_owned(),
                });
            }
            updates.push((rule.rule_id.clone(), now));
        }
        for (rule_id, now) in updates {
            self.holding.entry(rule_id).or_default().insert(subject.to_owned(), now);
        }
        Ok(fired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn low_balance() -> Rule {
        serde_json::from_value(json!({
            "rule_id": "r1",
            "trigger": "transaction.created",
            "condition": {"and": [
                {"<": [{"var": "account.balance"}, 100]},
                {"==": [{"var": "account.type"}, "CHECKING"]}
            ]},
            "action": "emit_event:low_balance_warning"
        }))
        .unwrap()
    }

    fn account(balance: i64) -> Value {
        json!({"account": {"balance": balance, "type": "CHECKING"}})
    }

    #[test]
    fn the_spec_rule_fires_once_per_transition() {
        let mut engine = RuleEngine::new(vec![low_balance()]).unwrap();
        let mut fire = |balance| {
            engine.on_event("transaction.created", "acc_1", &account(balance)).unwrap().len()
        };
        assert_eq!(fire(500), 0);
        assert_eq!(fire(90), 1, "became true");
        assert_eq!(fire(40), 0, "still true: no repeat");
        assert_eq!(fire(300), 0, "false again");
        assert_eq!(fire(10), 1, "a new transition fires again");
        assert_eq!(
            engine.on_event("transaction.created", "acc_2", &account(5)).unwrap().len(),
            1,
            "per subject"
        );
        assert!(
            engine.on_event("balance.updated", "acc_3", &account(5)).unwrap().is_empty(),
            "other trigger"
        );
    }

    #[test]
    fn wildcards_and_bad_rules() {
        assert!(matches("brain.*", "brain.insight.salary_received"));
        assert!(matches("*.overdraft_warning", "brain.risk.overdraft_warning"));
        assert!(!matches("risk.*", "brain.risk.x"));
        assert!(matches("core.transaction.created", "core.transaction.created"));
        let bad = Rule { action: "call_webhook".into(), ..low_balance() };
        assert!(matches!(RuleEngine::new(vec![bad]), Err(RuleError::UnsupportedAction { .. })));
        let weird = Rule { condition: json!({"regex": ["a", "b"]}), ..low_balance() };
        assert!(matches!(weird.holds(&account(1)), Err(RuleError::UnsupportedOperator { .. })));
        let two_ops = Rule { condition: json!({"<": [1, 2], ">": [1, 2]}), ..low_balance() };
        assert!(matches!(two_ops.holds(&account(1)), Err(RuleError::Malformed { .. })));
    }
}
