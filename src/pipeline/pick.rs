//! Which pipeline a request runs when none is named: the one whose trigger
//! matches the request most specifically.
//!
//! Triggers are globs (`*` matches any run of characters) matched against
//! the whole request, ignoring case. Of every trigger of every pipeline
//! that matches, the one with the most characters other than `*` wins —
//! "build a backend for *" says more than "*idea*", so "Build a backend for
//! idea voting" is a backend feature; on a tie the default pipeline wins,
//! then the first by name. A request no trigger matches runs the default
//! pipeline only when the default has no triggers (it takes anything);
//! otherwise it is [`Pick::Unmatched`] and the person chooses.

use crate::policy::glob_match;

/// The triggers of a file's pipelines, by name, and the default's name.
#[derive(Debug)]
pub struct Triggers {
    pub default: Option<String>,
    pub pipelines: Vec<(String, Vec<String>)>,
}

/// What the triggers say about a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pick {
    /// This pipeline's trigger matched (the most specific match).
    Matched { pipeline: String, trigger: String },
    /// No trigger matched, and the default pipeline takes any request.
    Default,
    /// No trigger matched, and the default pipeline only takes what its
    /// own triggers match: someone must choose.
    Unmatched,
}

/// How much a trigger says: its characters other than `*`.
fn specificity(trigger: &str) -> usize {
    trigger.chars().filter(|&c| c != '*').count()
}

/// The pipeline `request` runs by the triggers of `file`'s pipelines.
/// A file that cannot be read picks the default (loading it reports why).
#[must_use]
pub fn pick_pipeline(file: &super::SkillsFile, request: &str) -> Pick {
    super::load::triggers(file).map_or(Pick::Default, |t| pick(&t, request))
}

fn pick(triggers: &Triggers, request: &str) -> Pick {
    let request = request.trim().to_lowercase();
    // A file with one pipeline has it as its default.
    let only = match triggers.pipelines.as_slice() {
        [(only, _)] => Some(only.as_str()),
        _ => None,
    };
    let default = triggers.default.as_deref().or(only);
    let best = triggers
        .pipelines
        .iter()
        .flat_map(|(name, list)| list.iter().map(move |t| (name, t)))
        .filter(|(_, t)| glob_match(&t.to_lowercase(), &request))
        // Most specific first; on a tie the default, then by name.
        .min_by_key(|(name, t)| {
            (
                std::cmp::Reverse(specificity(t)),
                Some(name.as_str()) != default,
                (*name).clone(),
            )
        });
    if let Some((name, trigger)) = best {
        return Pick::Matched {
            pipeline: name.clone(),
            trigger: trigger.clone(),
        };
    }
    let default_takes_anything = triggers
        .pipelines
        .iter()
        .find(|(name, _)| Some(name.as_str()) == default)
        .is_none_or(|(_, list)| list.is_empty());
    if default_takes_anything {
        Pick::Default
    } else {
        Pick::Unmatched
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::SkillsFile;

    fn builtin(request: &str) -> Pick {
        pick_pipeline(&SkillsFile::builtin(), request)
    }

    fn matched(pick: &Pick) -> &str {
        match pick {
            Pick::Matched { pipeline, .. } => pipeline,
            Pick::Default | Pick::Unmatched => "",
        }
    }

    #[test]
    fn ordinary_backend_requests_run_the_backend_pipeline() {
        for request in [
            "Add rate limiting to the orders API",
            "Add an audit log",
            "Add a /healthz endpoint to the orders service",
            "Add a health package",
            "Fix the pagination bug in /orders",
            "Refactor the payments client",
            "Implement an API for invoices",
            "Build a backend for idea voting",
            "I need an API that processes vulnerability data and correlates with assets",
            "Add authentication to the backend",
            "Create data models for customers",
            "Implement Okta SSO integration for Chariot",
        ] {
            assert_eq!(matched(&builtin(request)), "backend", "{request}");
        }
    }

    #[test]
    fn discovery_requests_run_the_discovery_pipeline() {
        for request in [
            "Explore whether teams want shared dashboards",
            "I have an idea for a referral programme",
            "Brainstorm ways to cut churn",
        ] {
            assert_eq!(matched(&builtin(request)), "discovery", "{request}");
        }
    }

    #[test]
    fn a_request_no_trigger_matches_is_not_run_silently() {
        assert_eq!(builtin("Write me a poem about cats"), Pick::Unmatched);
    }

    #[test]
    fn the_most_specific_trigger_wins_and_a_tie_goes_to_the_default() {
        let triggers = Triggers {
            default: Some("backend".into()),
            pipelines: vec![
                (
                    "backend".into(),
                    vec!["build a backend for *".into(), "add *".into()],
                ),
                (
                    "discovery".into(),
                    vec!["*idea*".into(), "*idea board*".into()],
                ),
            ],
        };
        let pick_of = |r: &str| pick(&triggers, r);
        assert_eq!(
            pick_of("Build a backend for idea voting"),
            Pick::Matched {
                pipeline: "backend".into(),
                trigger: "build a backend for *".into()
            }
        );
        // "*idea board*" (10) beats "add *" (4).
        assert_eq!(matched(&pick_of("Add an idea board")), "discovery");
        // "add *" and "*idea*" both say 4: the default wins.
        assert_eq!(matched(&pick_of("Add idea")), "backend");
    }

    #[test]
    fn a_default_without_triggers_takes_any_request() {
        let triggers = Triggers {
            default: Some("main".into()),
            pipelines: vec![
                ("main".into(), vec![]),
                ("ideas".into(), vec!["*idea*".into()]),
            ],
        };
        assert_eq!(pick(&triggers, "Write me a poem"), Pick::Default);
        assert_eq!(matched(&pick(&triggers, "an idea")), "ideas");
        let one = Triggers {
            default: None,
            pipelines: vec![("only".into(), vec![])],
        };
        assert_eq!(pick(&one, "anything"), Pick::Default);
    }
}
