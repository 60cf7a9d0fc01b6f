//! Undo a word at a time in the text boxes.
//!
//! `ratatui-textarea` keeps one history entry per edit, so one undo after
//! typing a sentence takes back a single letter. A [`WordUndo`] sits in
//! front of a box's `TextArea` and groups its edits the way editors do:
//! typing runs until a word starts after a space (so "hello world" undoes
//! as "world", then "hello "), deleting runs until the cursor jumps, and
//! every other edit (a paste, a new line, a cut) is a group of its own.
//! Moving the cursor ends a run.
//!
//! A group is remembered by fingerprints of the text before and after it;
//! undoing a group steps the editor's own history back until the text is
//! as it was before, so an edit that the editor records as two entries (a
//! selection replaced by a letter) still undoes as one. Every edit to the
//! box must go through [`WordUndo::input`] or [`WordUndo::edit`].

use std::hash::{DefaultHasher, Hash, Hasher};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::{DataCursor, TextArea};

/// How many steps the editor keeps (letters, not words).
const EDITOR_HISTORY: usize = 2_000;
/// How many groups are kept.
const GROUPS: usize = 500;

/// What a run of edits is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    /// Typing; `space` if the last letter typed was whitespace.
    Typing {
        space: bool,
    },
    Deleting,
    /// Anything else: never continued.
    Single,
}

/// One undoable step: the text's fingerprints around it.
#[derive(Clone, Copy, Debug)]
struct Group {
    before: u64,
    after: u64,
}

/// Word-at-a-time undo and redo for one `TextArea`.
#[derive(Debug, Default)]
pub struct WordUndo {
    done: Vec<Group>,
    undone: Vec<Group>,
    /// The run the last edit belongs to, and where it left the cursor.
    last: Option<(Run, DataCursor)>,
}

fn fingerprint(editor: &TextArea<'_>) -> u64 {
    let mut hasher = DefaultHasher::new();
    editor.lines().hash(&mut hasher);
    hasher.finish()
}

impl WordUndo {
    /// Readies `editor` to keep enough history for word-sized groups.
    pub fn prepare(editor: &mut TextArea<'_>) {
        editor.set_max_histories(EDITOR_HISTORY);
    }

    /// Hands `key` to the editor, recording what it changed. The editor's
    /// own undo and redo keys (`ctrl-u`, `ctrl-r`) undo and redo a word.
    /// Returns whether the text changed.
    pub fn input(&mut self, editor: &mut TextArea<'_>, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        if ctrl && !alt && key.code == KeyCode::Char('u') {
            return self.undo(editor);
        }
        if ctrl && !alt && key.code == KeyCode::Char('r') {
            return self.redo(editor);
        }
        let run = if ctrl || alt {
            Run::Single
        } else if let KeyCode::Char(c) = key.code {
            Run::Typing {
                space: c.is_whitespace(),
            }
        } else if matches!(key.code, KeyCode::Backspace | KeyCode::Delete) {
            Run::Deleting
        } else {
            Run::Single
        };
        self.record(editor, run, |editor| editor.input(key))
    }

    /// Makes one edit of its own (a paste, a new line): one undo takes it
    /// back. Returns whether the text changed.
    pub fn edit(
        &mut self,
        editor: &mut TextArea<'_>,
        change: impl FnOnce(&mut TextArea<'_>) -> bool,
    ) -> bool {
        self.record(editor, Run::Single, change)
    }

    fn record(
        &mut self,
        editor: &mut TextArea<'_>,
        run: Run,
        change: impl FnOnce(&mut TextArea<'_>) -> bool,
    ) -> bool {
        let cursor = editor.cursor();
        let before = fingerprint(editor);
        let changed = change(editor) && fingerprint(editor) != before;
        if !changed {
            // A cursor move ends the run.
            if editor.cursor() != cursor {
                self.last = None;
            }
            return false;
        }
        let after = fingerprint(editor);
        let continues = match (self.last, run) {
            (Some((Run::Typing { space }, at)), Run::Typing { space: now }) => {
                // A word starts when a letter follows a space.
                at == cursor && (now || !space)
            }
            (Some((Run::Deleting, at)), Run::Deleting) => at == cursor,
            _ => false,
        };
        match self.done.last_mut() {
            Some(group) if continues => group.after = after,
            _ => {
                self.done.push(Group { before, after });
                if self.done.len() > GROUPS {
                    self.done.remove(0);
                }
            }
        }
        self.undone.clear();
        self.last = Some((run, editor.cursor()));
        true
    }

    /// Takes back the last group. Returns whether anything changed.
    pub fn undo(&mut self, editor: &mut TextArea<'_>) -> bool {
        self.last = None;
        let Some(group) = self.done.pop() else {
            return false;
        };
        while fingerprint(editor) != group.before && editor.undo() {}
        self.undone.push(group);
        true
    }

    /// Does again the last group undone. Returns whether anything changed.
    pub fn redo(&mut self, editor: &mut TextArea<'_>) -> bool {
        self.last = None;
        let Some(group) = self.undone.pop() else {
            return false;
        };
        while fingerprint(editor) != group.after && editor.redo() {}
        self.done.push(group);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(undo: &mut WordUndo, editor: &mut TextArea<'_>, text: &str) {
        for c in text.chars() {
            undo.input(editor, key(KeyCode::Char(c)));
        }
    }

    fn text(editor: &TextArea<'_>) -> String {
        editor.lines().join("\n")
    }

    fn editor() -> TextArea<'static> {
        let mut editor = TextArea::default();
        WordUndo::prepare(&mut editor);
        editor
    }

    #[test]
    fn typing_undoes_a_word_at_a_time_and_redoes() {
        let mut editor = editor();
        let mut undo = WordUndo::default();
        typed(&mut undo, &mut editor, "add a  rate limit");
        undo.undo(&mut editor);
        assert_eq!(text(&editor), "add a  rate ");
        undo.undo(&mut editor);
        assert_eq!(text(&editor), "add a  ");
        undo.redo(&mut editor);
        assert_eq!(text(&editor), "add a  rate ");
        undo.redo(&mut editor);
        assert_eq!(text(&editor), "add a  rate limit");
        assert!(!undo.redo(&mut editor), "nothing more to redo");
        for _ in 0..3 {
            undo.undo(&mut editor);
        }
        assert_eq!(text(&editor), "add ");
        // The editor's own undo key undoes a word too.
        let ctrl_u = KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL);
        assert!(undo.input(&mut editor, ctrl_u));
        assert_eq!(text(&editor), "");
        assert!(!undo.undo(&mut editor));
    }

    #[test]
    fn deleting_moving_and_pasting_make_their_own_groups() {
        let mut editor = editor();
        let mut undo = WordUndo::default();
        typed(&mut undo, &mut editor, "abcdef");
        for _ in 0..3 {
            undo.input(&mut editor, key(KeyCode::Backspace));
        }
        assert_eq!(text(&editor), "abc");
        undo.input(&mut editor, key(KeyCode::Left));
        typed(&mut undo, &mut editor, "XY");
        assert_eq!(text(&editor), "abXYc");
        undo.edit(&mut editor, |e| e.insert_str("\npasted\n"));
        assert_eq!(text(&editor), "abXY\npasted\nc");
        undo.undo(&mut editor);
        assert_eq!(text(&editor), "abXYc", "the paste alone");
        undo.undo(&mut editor);
        assert_eq!(text(&editor), "abc", "typing after a move is a new run");
        undo.undo(&mut editor);
        assert_eq!(text(&editor), "abcdef", "three deletions in a row, at once");
        undo.undo(&mut editor);
        assert_eq!(text(&editor), "");
    }

    #[test]
    fn a_new_edit_forgets_what_was_undone() {
        let mut editor = editor();
        let mut undo = WordUndo::default();
        typed(&mut undo, &mut editor, "one two");
        undo.undo(&mut editor);
        typed(&mut undo, &mut editor, "three");
        assert!(!undo.redo(&mut editor));
        assert_eq!(text(&editor), "one three");
    }
}
