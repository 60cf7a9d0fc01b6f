//! What a session costs: its token usage priced with config.toml's price
//! table (US dollars per million tokens, per model), and whether it is over
//! the pipeline's budget.

use std::collections::BTreeMap;

use crate::config::Price;
use crate::pipeline::Budget;
use crate::session::SessionState;

/// Prices by model name.
pub type Prices = BTreeMap<String, Price>;

/// The model phase `index` runs on: its own, else the session's.
pub fn phase_model(state: &SessionState, index: usize) -> &str {
    state
        .pipeline
        .as_ref()
        .and_then(|p| p.phases.get(index))
        .and_then(|p| p.model.as_deref())
        .unwrap_or(&state.model)
}

/// The cost of phase `index`, if its model has a price.
pub fn phase_cost(state: &SessionState, index: usize, prices: &Prices) -> Option<f64> {
    let usage = state.phases.get(index)?.usage;
    let price = prices.get(phase_model(state, index))?;
    Some(price.cost(usage.prompt_tokens, usage.completion_tokens))
}

/// The cost of the whole session, if every phase that used tokens has a price.
pub fn session_cost(state: &SessionState, prices: &Prices) -> Option<f64> {
    let mut total = 0.0;
    for (index, phase) in state.phases.iter().enumerate() {
        if phase.usage.total() > 0 {
            total += phase_cost(state, index, prices)?;
        }
    }
    Some(total)
}

/// Why the session is over budget, if it is.
pub fn over_budget(state: &SessionState, budget: &Budget, prices: &Prices) -> Option<String> {
    let tokens = state.usage.total();
    if let Some(max) = budget.max_tokens
        && tokens > max
    {
        return Some(format!("{tokens} tokens used, budget {max}"));
    }
    let cost = session_cost(state, prices)?;
    match budget.max_cost_usd {
        Some(max) if cost > max => Some(format!("${cost:.4} spent, budget ${max:.2}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::EventKind;
    use crate::session::testing::{fold, started};

    fn state(tokens: u64) -> SessionState {
        let kinds = [
            started("r", "openai"),
            EventKind::PhaseStarted {
                phase: "summarize".into(),
                attempt: 1,
            },
            EventKind::Usage {
                phase: "summarize".into(),
                attempt: 1,
                prompt_tokens: tokens,
                completion_tokens: tokens,
            },
        ];
        fold(kinds)
    }

    #[test]
    fn prices_and_budgets() {
        let prices = Prices::from([(
            "m".to_owned(),
            Price {
                prompt: 1.0,
                completion: 3.0,
            },
        )]);
        let s = state(500_000);
        assert!((session_cost(&s, &prices).expect("priced") - 2.0).abs() < 1e-9);
        assert_eq!(session_cost(&s, &Prices::new()), None, "no price, no cost");
        let tokens = Budget {
            max_tokens: Some(999_999),
            max_cost_usd: None,
        };
        assert_eq!(
            over_budget(&s, &tokens, &prices).as_deref(),
            Some("1000000 tokens used, budget 999999")
        );
        let dollars = Budget {
            max_tokens: None,
            max_cost_usd: Some(1.5),
        };
        assert_eq!(
            over_budget(&s, &dollars, &prices).as_deref(),
            Some("$2.0000 spent, budget $1.50")
        );
        assert_eq!(over_budget(&state(1), &dollars, &prices), None);
    }
}
