//! A phase's named outputs, found in its answer: one section per output
//! under a heading that names it (`## feature-brief`).
//!
//! A phase that declares several `outputs` in skills.toml is told to write
//! each under its own heading; [`split`] finds them again. A heading is a
//! line of one to three `#` followed by an output's name (ignoring case,
//! backticks around it allowed) outside any code fence; a section runs to
//! the next such heading, so sub-headings of its own stay in it. What
//! comes before the first heading belongs to no output. A name written
//! twice keeps both texts, joined; a name never written is missing.

/// One named output and its text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Section {
    pub name: String,
    pub content: String,
}

/// What an answer holds of the outputs it was asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sections {
    /// The outputs found, in the order they were asked for.
    pub found: Vec<Section>,
    /// The outputs asked for and not written (or written empty).
    pub missing: Vec<String>,
    /// The outputs written under more than one heading.
    pub duplicated: Vec<String>,
}

/// The output a line is the heading of, if any.
fn heading<'a>(line: &str, names: &[&'a str]) -> Option<&'a str> {
    let trimmed = line.trim();
    let hashes = trimmed.chars().take_while(|c| *c == '#').count();
    if !(1..=3).contains(&hashes) {
        return None;
    }
    let title = trimmed[hashes..].trim().trim_matches('`').trim();
    names
        .iter()
        .copied()
        .find(|n| n.eq_ignore_ascii_case(title))
}

/// Splits `text` into the outputs `names`.
pub fn split(text: &str, names: &[&str]) -> Sections {
    let mut texts: Vec<Option<String>> = vec![None; names.len()];
    let mut duplicated = Vec::new();
    let mut current: Option<usize> = None;
    let mut fence = false;
    for line in text.lines() {
        if let Some(marker) = super::fence_line(line) {
            // Any fence line opens one; only a bare one closes it.
            fence = !(fence && marker.closes);
        } else if !fence && let Some(name) = heading(line, names) {
            let index = names.iter().position(|n| *n == name);
            if let Some(i) = index
                && let Some(before) = texts[i].as_mut()
            {
                before.push('\n');
                if !duplicated.iter().any(|d| d == name) {
                    duplicated.push(name.to_owned());
                }
            }
            current = index;
            if let Some(i) = current {
                texts[i].get_or_insert_with(String::new);
            }
            continue;
        }
        if let Some(text) = current.and_then(|i| texts[i].as_mut()) {
            text.push_str(line);
            text.push('\n');
        }
    }
    let mut sections = Sections {
        duplicated,
        ..Sections::default()
    };
    for (name, text) in names.iter().zip(texts) {
        let content = text.map(|t| t.trim().to_owned()).unwrap_or_default();
        if content.is_empty() {
            sections.missing.push((*name).to_owned());
        } else {
            sections.found.push(Section {
                name: (*name).to_owned(),
                content,
            });
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 2] = ["feature-brief", "work-unit-registry"];

    #[test]
    fn each_heading_starts_its_output_and_sub_headings_stay_inside() {
        let text = "Intro.\n\n## feature-brief\nThe idea.\n### Fit\nFits.\n\n## `Work-Unit-Registry`\n- WU-1\n";
        let s = split(text, &NAMES);
        assert_eq!(
            s.found,
            vec![
                Section {
                    name: "feature-brief".into(),
                    content: "The idea.\n### Fit\nFits.".into()
                },
                Section {
                    name: "work-unit-registry".into(),
                    content: "- WU-1".into()
                },
            ]
        );
        assert!(s.missing.is_empty() && s.duplicated.is_empty());
    }

    #[test]
    fn a_section_not_written_or_left_empty_is_missing() {
        let s = split("## feature-brief\nThe idea.\n", &NAMES);
        assert_eq!(s.missing, vec!["work-unit-registry".to_owned()]);
        let s = split(
            "## feature-brief\n\n## work-unit-registry\n- WU-1\n",
            &NAMES,
        );
        assert_eq!(s.missing, vec!["feature-brief".to_owned()]);
        assert_eq!(split("no headings at all", &NAMES).missing.len(), 2);
    }

    #[test]
    fn a_name_written_twice_keeps_both_texts() {
        let s = split(
            "## feature-brief\nOne.\n## work-unit-registry\n- WU-1\n## feature-brief\nTwo.\n",
            &NAMES,
        );
        assert_eq!(s.found[0].content, "One.\n\nTwo.");
        assert_eq!(s.duplicated, vec!["feature-brief".to_owned()]);
    }

    #[test]
    fn headings_inside_code_fences_do_not_split() {
        let text =
            "## feature-brief\nSee:\n```markdown\n## work-unit-registry\nnot this\n```\nDone.\n";
        let s = split(text, &NAMES);
        assert_eq!(s.missing, vec!["work-unit-registry".to_owned()]);
        assert!(s.found[0].content.contains("not this"));
        assert!(s.found[0].content.ends_with("Done."));
    }

    #[test]
    fn a_fence_line_with_an_info_string_does_not_close_an_open_fence() {
        let text =
            "## feature-brief\n```markdown\n```go\n## work-unit-registry\nnot this\n```\nDone.\n";
        let s = split(text, &NAMES);
        assert_eq!(s.missing, vec!["work-unit-registry".to_owned()]);
        assert!(s.found[0].content.contains("not this"));
        assert!(s.found[0].content.ends_with("Done."));
    }

    #[test]
    fn deep_headings_and_other_titles_are_text() {
        let s = split(
            "## feature-brief\n#### work-unit-registry\n## feature-brief notes\n",
            &NAMES,
        );
        assert_eq!(s.missing, vec!["work-unit-registry".to_owned()]);
        assert!(s.found[0].content.contains("feature-brief notes"));
    }
}
