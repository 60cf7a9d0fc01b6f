//! Named styles for every part of the screen, and the theme files that set
//! them. This module owns the `Theme` struct, the TOML theme format (see the
//! comment at the top of `themes/default.toml`), its parser with positioned
//! errors, and the four built-in themes compiled in from `themes/`:
//! `default` (16 ANSI colours, so it follows the terminal's palette), `light`,
//! `high-contrast` and `mono` (no colour at all; what `NO_COLOR` selects).

use crate::diagnostic::Diagnostic;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The names `Theme::named` accepts besides a path to a `.toml` file.
pub const BUILTIN_THEMES: [&str; 4] = ["default", "light", "high-contrast", "mono"];

const BUILTIN_SOURCES: [&str; 4] = [
    include_str!("../../themes/default.toml"),
    include_str!("../../themes/light.toml"),
    include_str!("../../themes/high-contrast.toml"),
    include_str!("../../themes/mono.toml"),
];

#[rustfmt::skip]
const MODIFIERS: [&str; 9] = [
    "bold", "dim", "italic", "underlined", "reversed", "slow_blink", "rapid_blink", "hidden",
    "crossed_out",
];

#[rustfmt::skip]
const COLORS: [&str; 17] = [
    "black", "red", "green", "yellow", "blue", "magenta", "cyan", "gray", "darkgray", "lightred",
    "lightgreen", "lightyellow", "lightblue", "lightmagenta", "lightcyan", "white", "reset",
];

/// Declares `Theme` and, from the same list, the style names a file may set.
macro_rules! theme_styles {
    ($($(#[$doc:meta])* $field:ident,)*) => {
        /// Every style the UI uses, by what it is for. `Default` is all plain.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct Theme {
            $($(#[$doc])* pub $field: Style,)*
        }

        /// The keys a theme file may set under `[styles]`.
        pub const STYLE_NAMES: &[&str] = &[$(stringify!($field)),*];

        impl Theme {
            fn style_mut(&mut self, name: &str) -> Option<&mut Style> {
                match name {
                    $(stringify!($field) => Some(&mut self.$field),)*
                    _ => None,
                }
            }

            /// Every style with its name, in declaration order.
            pub fn styles(&self) -> Vec<(&'static str, Style)> {
                vec![$((stringify!($field), self.$field)),*]
            }
        }
    };
}

theme_styles! {
    border, border_focus, title, dim, pending, running, awaiting, approved, failed,
    /// The checkpoint bar while a gate is open.
    gate,
    status_bar,
    /// The label that says which provider runs.
    badge,
    key, heading, code, diff_added, diff_removed, search_match, selection, editor_cursor_line,
    line_number,
    /// A passing message, such as "saved".
    notice,
}

/// One mistake in a theme file, at a 1-based line and column (in characters).
pub type ThemeError = Diagnostic;

impl Theme {
    /// The 16-colour default (`themes/default.toml`).
    pub fn ansi() -> Self {
        Self::builtin_or_plain("default")
    }

    /// No colour: state shown by weight and reverse video (`themes/mono.toml`).
    pub fn mono() -> Self {
        Self::builtin_or_plain("mono")
    }

    /// A built-in theme by name, or a theme file by path; `no_color` forces
    /// `mono` (the file is still checked, so mistakes are not hidden).
    pub fn named(name: &str, no_color: bool) -> Result<Self, String> {
        let builtins = BUILTIN_THEMES.join(", ");
        let loaded = match builtin(name) {
            Some(theme) => theme,
            None if is_path(name) => check_theme_file(Path::new(name)),
            None => {
                return Err(format!(
                    "unknown theme `{name}`: not a built-in theme ({builtins}) \
                     and not a path to a .toml file"
                ));
            }
        };
        let theme = loaded.map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            format!(
                "theme `{name}` has {} error(s):\n{}\n(built-in themes: {builtins})",
                errors.len(),
                lines.join("\n")
            )
        })?;
        Ok(if no_color { Self::mono() } else { theme })
    }

    /// A built-in theme; plain styles if it failed to parse, which the
    /// `every_builtin_parses_and_sets_every_style` test rules out.
    fn builtin_or_plain(name: &str) -> Self {
        builtin(name).and_then(Result::ok).unwrap_or_default()
    }
}

/// Whether a name that is not a built-in should be read as a file.
fn is_path(name: &str) -> bool {
    let toml = Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    toml || name.contains(std::path::is_separator)
}

fn builtin(name: &str) -> Option<Result<Theme, Vec<ThemeError>>> {
    let index = BUILTIN_THEMES.iter().position(|&b| b == name)?;
    Some(parse_theme(
        &format!("<built-in {name}>"),
        BUILTIN_SOURCES[index],
    ))
}

/// Parses a theme file's text; `source_name` is what errors call the file.
/// Styles the file leaves out keep the `default` theme's values; a style it
/// gives replaces the default one whole. Reports every mistake found, each
/// with its position (syntax errors alone, if there are any).
pub fn parse_theme(source_name: &str, text: &str) -> Result<Theme, Vec<ThemeError>> {
    let mut theme = Theme::default();
    apply(&mut theme, "<built-in default>", BUILTIN_SOURCES[0])?;
    apply(&mut theme, source_name, text)?;
    Ok(theme)
}

/// Reads and parses a theme file; an unreadable file is one error at 1:1.
pub fn check_theme_file(path: &Path) -> Result<Theme, Vec<ThemeError>> {
    let file = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => parse_theme(
            &file,
            &crate::diagnostic::decode(&file, bytes).map_err(|d| vec![d])?,
        ),
        Err(e) => Err(vec![Diagnostic::at(
            &file,
            "",
            None,
            format!("cannot read theme file: {e}"),
        )]),
    }
}

/// Sets on `theme` the styles `text` names, returning those names.
fn apply(theme: &mut Theme, file: &str, text: &str) -> Result<Vec<String>, Vec<ThemeError>> {
    let mut errors = Errors {
        file,
        text,
        found: Vec::new(),
    };
    let (doc, syntax) = DeTable::parse_recoverable(text);
    for e in syntax {
        errors.at_offset(e.span().map_or(0, |s| s.start), e.message().trim_end());
    }
    if !errors.found.is_empty() {
        return Err(errors.found);
    }
    let mut set = Vec::new();
    for (key, value) in doc.get_ref() {
        match (key.get_ref().as_ref(), value.get_ref()) {
            ("name", DeValue::String(_)) => {}
            ("name", _) => errors.wrong_type(value, "`name` must be a string"),
            ("styles", DeValue::Table(styles)) => {
                for (name, style) in styles {
                    let Some(slot) = theme.style_mut(name.get_ref()) else {
                        let valid = STYLE_NAMES.join(", ");
                        errors.at(
                            name,
                            &format!("unknown style `{}` (valid: {valid})", name.get_ref()),
                        );
                        continue;
                    };
                    if let Some(parsed) = parse_style(name.get_ref(), style, &mut errors) {
                        *slot = parsed;
                        set.push(name.get_ref().to_string());
                    }
                }
            }
            ("styles", _) => errors.wrong_type(value, "`styles` must be a table"),
            (other, _) => errors.at(
                key,
                &format!("unknown key `{other}` (expected `name` or `[styles]`)"),
            ),
        }
    }
    if errors.found.is_empty() {
        return Ok(set);
    }
    errors.found.sort_by_key(|e| (e.line, e.column));
    Err(errors.found)
}

fn parse_style(name: &str, value: &Spanned<DeValue<'_>>, errors: &mut Errors<'_>) -> Option<Style> {
    let DeValue::Table(table) = value.get_ref() else {
        let must = format!("style `{name}` must be a table like {{ fg = \"red\" }}");
        errors.wrong_type(value, &must);
        return None;
    };
    let before = errors.found.len();
    let mut style = Style::new();
    for (key, item) in table {
        match key.get_ref().as_ref() {
            "fg" => style.fg = parse_color(item, errors),
            "bg" => style.bg = parse_color(item, errors),
            "modifiers" => style = style.add_modifier(parse_modifiers(item, errors)),
            other => errors.at(
                key,
                &format!("unknown key `{other}` in style `{name}` (expected fg, bg, modifiers)"),
            ),
        }
    }
    (errors.found.len() == before).then_some(style)
}

/// A colour name, `"#rrggbb"`, or an unquoted integer 0-255.
fn parse_color(value: &Spanned<DeValue<'_>>, errors: &mut Errors<'_>) -> Option<Color> {
    let color = match value.get_ref() {
        DeValue::String(s)
            if COLORS.contains(&s.as_ref()) || s.starts_with('#') && s.len() == 7 =>
        {
            s.parse().ok()
        }
        DeValue::Integer(i) => u8::from_str_radix(i.as_str(), i.radix())
            .ok()
            .map(Color::Indexed),
        DeValue::String(_) => None,
        DeValue::Float(_)
        | DeValue::Boolean(_)
        | DeValue::Datetime(_)
        | DeValue::Array(_)
        | DeValue::Table(_) => {
            errors.wrong_type(value, "a colour must be a string or an integer");
            return None;
        }
    };
    if color.is_none() {
        let found = match value.get_ref() {
            DeValue::String(s) => format!("`{s}`"),
            DeValue::Integer(i) => i.to_string(),
            DeValue::Float(_)
            | DeValue::Boolean(_)
            | DeValue::Datetime(_)
            | DeValue::Array(_)
            | DeValue::Table(_) => String::new(),
        };
        let names = COLORS.join(", ");
        let expected = format!("expected {names}, \"#rrggbb\" or 0-255 without quotes");
        errors.at(value, &format!("unknown colour {found} ({expected})"));
    }
    color
}

fn parse_modifiers(value: &Spanned<DeValue<'_>>, errors: &mut Errors<'_>) -> Modifier {
    let DeValue::Array(items) = value.get_ref() else {
        errors.wrong_type(value, "`modifiers` must be a list like [\"bold\"]");
        return Modifier::empty();
    };
    let mut all = Modifier::empty();
    for item in items {
        let modifier = match item.get_ref() {
            DeValue::String(s) if MODIFIERS.contains(&s.as_ref()) => {
                Modifier::from_name(&s.to_uppercase())
            }
            DeValue::String(s) => {
                errors.at(
                    item,
                    &format!("unknown modifier `{s}` (expected {})", MODIFIERS.join(", ")),
                );
                None
            }
            DeValue::Integer(_)
            | DeValue::Float(_)
            | DeValue::Boolean(_)
            | DeValue::Datetime(_)
            | DeValue::Array(_)
            | DeValue::Table(_) => {
                errors.wrong_type(item, "a modifier must be a string");
                None
            }
        };
        all |= modifier.unwrap_or_default();
    }
    all
}

/// Collects errors for one file, turning byte offsets into line and column.
struct Errors<'a> {
    file: &'a str,
    text: &'a str,
    found: Vec<ThemeError>,
}

impl Errors<'_> {
    fn at<T>(&mut self, spanned: &Spanned<T>, message: &str) {
        self.at_offset(spanned.span().start, message);
    }

    fn wrong_type(&mut self, value: &Spanned<DeValue<'_>>, must: &str) {
        self.at(
            value,
            &format!("{must}, found {}", value.get_ref().type_str()),
        );
    }

    fn at_offset(&mut self, offset: usize, message: &str) {
        let error = Diagnostic::at(self.file, self.text, Some(offset..offset), message);
        if !self.found.contains(&error) {
            self.found.push(error); // the recovering parser can repeat itself
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positions(errors: &[ThemeError]) -> Vec<String> {
        errors
            .iter()
            .map(|e| format!("{}:{}", e.line, e.column))
            .collect()
    }

    fn all(name: &str) -> Theme {
        builtin(name).expect("built in").expect("parses")
    }

    #[test]
    fn every_builtin_parses_and_sets_every_style() {
        for (name, text) in BUILTIN_THEMES.iter().zip(BUILTIN_SOURCES) {
            let set = apply(&mut Theme::default(), name, text).expect(name);
            assert_eq!(set.len(), STYLE_NAMES.len(), "{name} must set every style");
            assert_eq!(Theme::named(name, false), Ok(all(name)));
        }
        assert_eq!(Theme::ansi(), all("default"));
        assert_eq!(Theme::mono(), all("mono"));
    }

    #[test]
    fn builtins_mark_state_and_keep_their_promises() {
        for name in BUILTIN_THEMES {
            let t = all(name);
            assert_ne!(t.gate, Style::new(), "{name}");
            assert_ne!(t.gate, t.dim, "{name}");
            assert_ne!(t.failed, t.approved, "{name}");
            assert_ne!(t.running, t.pending, "{name}");
            assert_ne!(t.diff_added, t.diff_removed, "{name}");
            assert_ne!(t.search_match, Style::new(), "{name}");
        }
        let gate = Style::new().fg(Color::Black).bg(Color::Yellow);
        assert_eq!(Theme::ansi().gate, gate.add_modifier(Modifier::BOLD));
        for (style, s) in all("mono").styles() {
            assert_eq!((s.fg, s.bg), (None, None), "mono `{style}` has a colour");
        }
        for (style, s) in all("high-contrast").styles() {
            let dark = [s.fg, s.bg].contains(&Some(Color::DarkGray));
            assert!(!dark && !s.add_modifier.contains(Modifier::DIM), "{style}");
        }
        let pale = [
            Color::White,
            Color::Yellow,
            Color::LightYellow,
            Color::Indexed(231),
        ];
        for (style, s) in all("light").styles() {
            let pale_text = s.fg.is_some_and(|c| pale.contains(&c));
            assert!(s.bg.is_some() || !pale_text, "light `{style}`");
        }
    }

    #[test]
    fn three_mistakes_three_positions() {
        let text = r#"name = "x"
[styles]
border = { fg = "purple" }
bordr = {}
  key = { modifiers = ["bold", "blinky"] }
"#;
        let errors = parse_theme("t.toml", text).expect_err("bad");
        assert_eq!(positions(&errors), ["3:17", "4:1", "5:32"]);
        let first = errors[0].to_string();
        assert!(
            first.starts_with("t.toml:3:17: unknown colour `purple`"),
            "{first}"
        );
        let unknown = &errors[1].message;
        assert!(unknown.contains("unknown style `bordr`") && unknown.contains("border_focus"));
        assert!(errors[2].message.starts_with("unknown modifier `blinky`"));
    }

    #[test]
    fn wrong_types_and_syntax_are_positioned() {
        let text = r#"[styles]
title = "bold"
dim = { fg = 300, bg = true, modifiers = "dim", size = 3 }
"#;
        let errors = parse_theme("t", text).expect_err("bad");
        assert_eq!(positions(&errors), ["2:9", "3:14", "3:24", "3:42", "3:49"]);
        assert!(
            errors[4]
                .message
                .starts_with("unknown key `size` in style `dim`")
        );
        let syntax = parse_theme("t", "[styles]\nborder = { fg = }\n").expect_err("bad");
        assert_eq!(positions(&syntax), ["2:17"]);
    }

    #[test]
    fn partial_theme_falls_back_to_default() {
        let text = r##"[styles]
gate = { fg = "#ff0080", bg = 17, modifiers = ["italic"] }"##;
        let gate = Style::new()
            .fg(Color::Rgb(255, 0, 128))
            .bg(Color::Indexed(17));
        let gate = gate.add_modifier(Modifier::ITALIC);
        let expected = Theme {
            gate,
            ..Theme::ansi()
        };
        assert_eq!(parse_theme("p", text), Ok(expected));
    }

    #[test]
    fn named_loads_paths_and_lists_builtins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mine.toml");
        std::fs::write(&path, "[styles]\nborder = { fg = \"red\" }\n").expect("write");
        let path = path.to_str().expect("utf-8");
        let t = Theme::named(path, false).expect("loads");
        assert_eq!(t.border, Style::new().fg(Color::Red));
        assert_eq!(Theme::named(path, true), Ok(Theme::mono()));
        let missing = check_theme_file(&dir.path().join("gone.toml")).expect_err("missing");
        assert_eq!(positions(&missing), ["1:1"]);
        let err = Theme::named("nope", false).expect_err("unknown");
        assert!(err.contains("`nope`"), "{err}");
        assert!(BUILTIN_THEMES.iter().all(|b| err.contains(b)), "{err}");
    }
}
