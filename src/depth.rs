//! How deep the views nest: the caps, and the words a capped level shows. Pure logic, tested
//! natively.
//!
//! The data chooses how deep traces and JSON values nest; the views must not let it choose how
//! deep the call stack, the reactive owners or the DOM go (about 170 nested trace views
//! overflowed the wasm stack; about 1,500 nested JSON levels crashed the tab). So one view
//! shows at most [`TRACE_LEVELS`] levels of nested traces and [`JSON_LEVELS`] levels of a JSON
//! value; the level past that is one row that opens it as the root of the view (with a way
//! back). Indentation stops growing after [`INDENT_LEVELS`]: deeper rows say their level
//! instead, so that they stay on screen in a narrow panel.

use std::borrow::Cow;

/// Levels of nested traces one view of the tree shows (its root is level 0 of the view).
pub const TRACE_LEVELS: usize = 32;

/// Levels of a JSON value one view of it shows.
pub const JSON_LEVELS: usize = 32;

/// Levels that indent; deeper levels are drawn flush with their parent and show their level.
pub const INDENT_LEVELS: usize = 12;

/// Whether a trace at `depth` in a view (0: the view's root) is shown as a way in rather than
/// nested in place.
pub fn trace_is_way_in(depth: usize) -> bool {
    depth >= TRACE_LEVELS
}

/// Whether a JSON container at `depth` in a view of the value is shown as a way in.
pub fn json_is_way_in(depth: usize) -> bool {
    depth >= JSON_LEVELS
}

/// Whether a level at `depth` in a view indents (else it is flush and shows its level).
pub fn indents(depth: usize) -> bool {
    depth < INDENT_LEVELS
}

/// How a way-in row says how much is below it: `levels` counts the row's own level.
pub fn more_levels(levels: usize) -> String {
    match levels {
        1 => "1 more level — open here".to_owned(),
        n => format!("{n} more levels — open here"),
    }
}

/// The end of a long path, cut at a character boundary with a leading `…`: a path 10,000
/// levels deep is shown by its last levels (the full path can still be copied).
pub fn path_tail(path: &str, max_chars: usize) -> Cow<'_, str> {
    let chars = path.chars().count();
    if chars <= max_chars {
        return Cow::Borrowed(path);
    }
    let skip = chars - max_chars.saturating_sub(1);
    let cut = path.char_indices().nth(skip).map_or(path.len(), |(i, _)| i);
    Cow::Owned(format!("…{}", &path[cut..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_nests_up_to_its_cap_then_opens_a_way_in() {
        assert!(!trace_is_way_in(0));
        assert!(!trace_is_way_in(TRACE_LEVELS - 1));
        assert!(trace_is_way_in(TRACE_LEVELS));
        assert!(trace_is_way_in(170));
        assert!(!json_is_way_in(JSON_LEVELS - 1));
        assert!(json_is_way_in(JSON_LEVELS));
        assert!(json_is_way_in(10_000));
    }

    #[test]
    fn indentation_stops_before_the_nesting_cap() {
        assert!(indents(0));
        assert!(indents(INDENT_LEVELS - 1));
        assert!(!indents(INDENT_LEVELS));
        const { assert!(INDENT_LEVELS < TRACE_LEVELS && INDENT_LEVELS < JSON_LEVELS) };
    }

    #[test]
    fn way_in_rows_count_levels() {
        assert_eq!(more_levels(1), "1 more level — open here");
        assert_eq!(more_levels(168), "168 more levels — open here");
    }

    #[test]
    fn long_paths_keep_their_end() {
        assert_eq!(path_tail("$.a.b", 5), "$.a.b");
        assert_eq!(path_tail("$.a.b", 10), "$.a.b");
        assert_eq!(path_tail("$.a.bc", 5), "…a.bc");
        assert_eq!(path_tail("$[0][1][2]", 4), "…[2]");
        // Cut on a character boundary, never inside one.
        assert_eq!(path_tail("$.ééé", 3), "…éé");
        assert_eq!(path_tail("", 3), "");
        let deep = "[0]".repeat(10_000);
        assert_eq!(path_tail(&deep, 80).chars().count(), 80);
    }
}
