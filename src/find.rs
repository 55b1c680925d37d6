//! Find's query: what the reader typed, with its case and regular-expression toggles, made
//! into the predicate the model's search walks with (`user_trace_model::search`). Pure logic,
//! tested natively, except regular expressions.
//!
//! Regular expressions are the browser's own (`RegExp`, with the `u` flag, and `i` unless the
//! case must match: Unicode classes and case folding): a Rust engine in the wasm cost B6 its
//! budget (`regex-lite` took the panel from under 200 KB of gzip to over it; `regex` is
//! several times larger). A native build, which has no browser, refuses them. A plain (not
//! regex) query folds case as the filter does ([`crate::filter::lower`]).

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
    #[cfg(target_arch = "wasm32")]
    Regex(js_sys::RegExp),
}

impl Query {
    /// The matcher for this query, or why the regular expression is not one.
    pub fn matcher(&self) -> Result<Matcher, String> {
        if self.text.is_empty() {
            return Ok(Matcher::Empty);
        }
        if self.regex {
            return regex(&self.text, self.case_sensitive);
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

/// The browser's regular expression for `pattern`, or why it is not one (a `SyntaxError`'s
/// message: "Invalid regular expression: /(a/u: Unterminated group").
#[cfg(target_arch = "wasm32")]
fn regex(pattern: &str, case_sensitive: bool) -> Result<Matcher, String> {
    use wasm_bindgen::JsCast;
    let flags = if case_sensitive { "u" } else { "iu" };
    // `new RegExp` throws on a bad pattern: constructed through `Reflect`, which catches.
    let made = js_sys::Reflect::get(&js_sys::global(), &"RegExp".into())
        .and_then(|c| c.dyn_into::<js_sys::Function>())
        .and_then(|c| {
            let args = js_sys::Array::of2(&pattern.into(), &flags.into());
            js_sys::Reflect::construct(&c, &args)
        });
    match made {
        Ok(r) => r
            .dyn_into::<js_sys::RegExp>()
            .map(Matcher::Regex)
            .map_err(|_| "not a regular expression".to_owned()),
        Err(e) => Err(js_sys::Reflect::get(&e, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| "not a regular expression".to_owned())),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn regex(_: &str, _: bool) -> Result<Matcher, String> {
    Err("regular expressions are the browser's: none here".to_owned())
}

impl Matcher {
    pub fn is_empty(&self) -> bool {
        matches!(self, Matcher::Empty)
    }

    /// Whether it looks for a text as it is (in any case or not): then it matches a text
    /// whenever it matches a part of it, which a regular expression need not (`^…$`).
    pub fn is_plain(&self) -> bool {
        matches!(self, Matcher::Plain { .. })
    }

    /// Whether `hay` holds a match.
    pub fn is_match(&self, hay: &str) -> bool {
        match self {
            Matcher::Empty => false,
            Matcher::Plain {
                needle,
                case_sensitive: true,
            } => hay.contains(needle.as_str()),
            Matcher::Plain { needle, .. } => crate::filter::has(hay, needle),
            #[cfg(target_arch = "wasm32")]
            Matcher::Regex(r) => r.test(hay),
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
    fn a_native_build_refuses_regular_expressions_and_says_so() {
        // The browser matches them (tests/browser_find.rs checks patterns, case and errors).
        let Err(e) = query("ne+dle", false, true).matcher() else {
            panic!("a native build has no regex engine");
        };
        assert!(e.contains("browser"), "{e}");
        // Near miss: the same text as plain text is fine.
        assert!(query("(unclosed", false, false).matcher().is_ok());
    }

    #[test]
    fn nothing_typed_matches_nothing() {
        let m = query("", false, false).matcher().unwrap();
        assert!(m.is_empty());
        assert!(!m.is_match("anything"));
    }
}
