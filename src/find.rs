//! Find's query: what the reader typed, with its case and regular-expression toggles, made
//! into the predicate the model's search walks with (`user_trace_model::search`). Pure logic,
//! tested natively.
//!
//! Regular expressions use `regex-lite`: `regex` would add its Unicode tables and several
//! engines to the panel's wasm (B6, docs/ARCHITECTURE.md). Its case folding is ASCII only, so
//! a case-insensitive regular expression matches `É` only as `É`; a plain (not regex) query
//! folds every case, as the filter does ([`crate::filter::lower`]).

use crate::filter::lower;

/// What the reader looks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub text: String,
    /// Match case exactly (off: any case).
    pub case_sensitive: bool,
    /// Read `text` as a regular expression.
    pub regex: bool,
}

/// A query made ready to test texts.
pub enum Matcher {
    /// Nothing to look for.
    Empty,
    Plain {
        /// Lower-cased unless the case must match.
        needle: String,
        case_sensitive: bool,
    },
    Regex(regex_lite::Regex),
}

/// How long a compiled regular expression may be: a pattern that would make a larger one is
/// refused (it would be slow on large texts).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Query {
    /// The matcher for this query, or why the regular expression is not one.
    pub fn matcher(&self) -> Result<Matcher, String> {
        if self.text.is_empty() {
            return Ok(Matcher::Empty);
        }
        if self.regex {
            return regex_lite::RegexBuilder::new(&self.text)
                .case_insensitive(!self.case_sensitive)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map(Matcher::Regex)
                .map_err(|e| first_line(&e.to_string()));
        }
        Ok(Matcher::Plain {
            needle: if self.case_sensitive {
                self.text.clone()
            } else {
                lower(&self.text)
            },
            case_sensitive: self.case_sensitive,
        })
    }
}

/// The line of an error message that says what is wrong (regex-lite's messages point at the
/// pattern over several lines).
fn first_line(message: &str) -> String {
    let last = message.lines().rfind(|l| l.starts_with("error:"));
    last.unwrap_or(message)
        .trim_start_matches("error:")
        .trim()
        .to_owned()
}

impl Matcher {
    pub fn is_empty(&self) -> bool {
        matches!(self, Matcher::Empty)
    }

    /// Whether `hay` holds a match.
    pub fn is_match(&self, hay: &str) -> bool {
        match self {
            Matcher::Empty => false,
            Matcher::Plain {
                needle,
                case_sensitive: true,
            } => hay.contains(needle.as_str()),
            // Lower-casing allocates: the exact match first (most text is found as typed).
            Matcher::Plain { needle, .. } => {
                hay.contains(needle.as_str()) || lower(hay).contains(needle.as_str())
            }
            Matcher::Regex(r) => r.is_match(hay),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str, case_sensitive: bool, regex: bool) -> Query {
        Query {
            text: text.into(),
            case_sensitive,
            regex,
        }
    }

    #[test]
    fn plain_text_folds_case_unless_asked_not_to() {
        let any = query("Needle", false, false).matcher().unwrap();
        assert!(any.is_match("a NEEDLE here"));
        assert!(any.is_match("ÉCOLE needle"));
        assert!(!any.is_match("a needl"));
        let exact = query("Needle", true, false).matcher().unwrap();
        assert!(exact.is_match("a Needle"));
        assert!(!exact.is_match("a needle"));
        // Unicode case folding for plain text.
        assert!(query("école", false, false)
            .matcher()
            .unwrap()
            .is_match("ÉCOLE"));
    }

    #[test]
    fn plain_text_is_not_a_pattern() {
        let m = query("a.c", false, false).matcher().unwrap();
        assert!(m.is_match("xa.cx"));
        assert!(!m.is_match("abc"));
    }

    #[test]
    fn regular_expressions_with_and_without_case() {
        let m = query(r"id-\d+$", false, true).matcher().unwrap();
        assert!(m.is_match("ID-42"));
        assert!(!m.is_match("id-42x"));
        let m = query(r"id-\d+", true, true).matcher().unwrap();
        assert!(!m.is_match("ID-42"));
        assert!(m.is_match("id-7"));
    }

    #[test]
    fn a_bad_pattern_says_why_in_one_line() {
        let Err(e) = query("(unclosed", false, true).matcher() else {
            panic!("accepted a bad pattern");
        };
        assert!(!e.is_empty() && !e.contains('\n'), "{e}");
        // Near miss: the same text as plain text is fine.
        assert!(query("(unclosed", false, false).matcher().is_ok());
    }

    #[test]
    fn nothing_typed_matches_nothing() {
        let m = query("", false, true).matcher().unwrap();
        assert!(m.is_empty());
        assert!(!m.is_match("anything"));
    }
}
