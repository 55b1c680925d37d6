//! A small markdown reader: blocks and inline spans as data, rendered by the markdown view as
//! DOM nodes with text content only. Raw HTML is not a thing here: it stays text.
//!
//! It follows CommonMark (0.31) for what it supports, and is tested against the spec's
//! examples for those parts:
//! - blocks: ATX and setext headings, paragraphs, bullet and ordered lists (one level; lazy
//!   continuation lines; a blank line between items keeps the list), fenced code (backticks or
//!   tildes, closed by a fence as long or longer), block quotes (one level, lazy lines),
//!   thematic breaks;
//! - inlines: backslash escapes, code spans, `*`/`_` emphasis and strong emphasis with the
//!   flanking rules (so `snake_case_name` stays as it is), links `[text](url "title")` and
//!   autolinks `<https://…>`, hard line breaks.
//!
//! Not supported (shown as text): raw HTML, indented code blocks, nested lists and quotes,
//! reference links, images, entities, tables. A link is made only for `http:`, `https:` and
//! `mailto:` destinations; anything else (`javascript:` in any case or spacing) stays text.
//! Nesting of emphasis is bounded ([`MAX_NESTING`]): no recursion whose depth the text
//! chooses.

/// A block of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading(u8, Vec<Inline>),
    Paragraph(Vec<Inline>),
    /// `start`: the first number of an ordered list; `None` for a bullet list.
    List {
        start: Option<u64>,
        items: Vec<Vec<Inline>>,
    },
    Code {
        lang: String,
        text: String,
    },
    /// The paragraphs of a block quote.
    Quote(Vec<Vec<Inline>>),
    Rule,
}

/// A run of text with one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Code(String),
    Strong(Vec<Inline>),
    Emphasis(Vec<Inline>),
    Link { text: String, href: String },
    Break,
}

/// Emphasis inside emphasis deeper than this is shown as text.
pub const MAX_NESTING: usize = 4;

/// Spaces of indentation (a tab to the next multiple of 4) and the rest of the line.
fn indent(line: &str) -> (usize, &str) {
    let mut n = 0;
    for (i, c) in line.char_indices() {
        match c {
            ' ' => n += 1,
            '\t' => n += 4 - n % 4,
            _ => return (n, &line[i..]),
        }
    }
    (n, "")
}

/// A list marker: `(start, marker char, content)`: `start` is `None` for bullets.
fn list_item(line: &str) -> Option<(Option<u64>, char, &str)> {
    let (n, t) = indent(line);
    if n > 3 {
        return None;
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (start, marker, rest) = match t.chars().next()? {
        c @ ('-' | '+' | '*') => (None, c, &t[1..]),
        _ if (1..10).contains(&digits) => {
            let c = t[digits..].chars().next()?;
            if c != '.' && c != ')' {
                return None;
            }
            {
                // By hand: smaller wasm than `u64::from_str`.
                let n = t[..digits]
                    .bytes()
                    .fold(0, |n, d| n * 10 + u64::from(d - b'0'));
                (Some(n), c, &t[digits + 1..])
            }
        }
        _ => return None,
    };
    match rest.chars().next() {
        None => Some((start, marker, "")),
        Some(' ' | '\t') => Some((start, marker, rest.trim_start())),
        _ => None,
    }
}

/// A thematic break: three or more of one of `*`, `-`, `_`, spaces allowed between.
fn is_rule(line: &str) -> bool {
    let (n, t) = indent(line);
    let Some(c) = t.chars().next().filter(|c| matches!(c, '*' | '-' | '_')) else {
        return false;
    };
    n <= 3
        && t.chars().filter(|&x| x == c).count() >= 3
        && t.chars().all(|x| x == c || x == ' ' || x == '\t')
}

/// A setext underline: `=` (level 1) or `-` (level 2) only.
fn setext(line: &str) -> Option<u8> {
    let (n, t) = indent(line);
    let t = t.trim_end();
    let c = t.chars().next()?;
    (n <= 3 && matches!(c, '=' | '-') && t.chars().all(|x| x == c)).then_some(if c == '=' {
        1
    } else {
        2
    })
}

/// An ATX heading: its level and text.
fn atx(line: &str) -> Option<(u8, &str)> {
    let (n, t) = indent(line);
    let level = t.bytes().take_while(|&b| b == b'#').count();
    if n > 3 || !(1..=6).contains(&level) {
        return None;
    }
    let rest = &t[level..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let mut text = rest.trim();
    // A closing sequence of `#`s goes when a space precedes it (or it is all there is).
    let without = text.trim_end_matches('#');
    if without.is_empty() || without.ends_with([' ', '\t']) {
        text = without.trim_end();
    }
    Some((level as u8, text))
}

/// An opening code fence: its character, length and info string.
fn fence(line: &str) -> Option<(char, usize, &str)> {
    let (n, t) = indent(line);
    let c = t.chars().next().filter(|c| matches!(c, '`' | '~'))?;
    let len = t.chars().take_while(|&x| x == c).count();
    let info = t[len..].trim();
    (n <= 3 && len >= 3 && !(c == '`' && info.contains('`'))).then_some((c, len, info))
}

fn quote_line(line: &str) -> Option<&str> {
    let (n, t) = indent(line);
    let rest = t.strip_prefix('>').filter(|_| n <= 3)?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Whether `line` starts a block other than a paragraph (so it cannot continue one).
fn starts_block(line: &str) -> bool {
    fence(line).is_some()
        || atx(line).is_some()
        || quote_line(line).is_some()
        || is_rule(line)
        // Only a list that starts at 1 and has content interrupts a paragraph.
        || list_item(line).is_some_and(|(start, _, rest)| {
            !rest.is_empty() && start.is_none_or(|n| n == 1)
        })
}

/// What is being read across lines.
enum Open<'a> {
    None,
    Para(Vec<&'a str>),
    List {
        start: Option<u64>,
        marker: char,
        items: Vec<Vec<&'a str>>,
        /// A blank line was seen after the last item.
        blank: bool,
    },
    Quote(Vec<Vec<&'a str>>),
}

fn close(open: Open<'_>, blocks: &mut Vec<Block>) {
    match open {
        Open::None => {}
        Open::Para(lines) => blocks.push(Block::Paragraph(lines_inline(&lines))),
        Open::List { start, items, .. } => blocks.push(Block::List {
            start,
            items: items.iter().map(|i| lines_inline(i)).collect(),
        }),
        Open::Quote(paras) => blocks.push(Block::Quote(
            paras
                .iter()
                .filter(|p| !p.is_empty())
                .map(|p| lines_inline(p))
                .collect(),
        )),
    }
}

/// The inline spans of a paragraph's lines (their trailing spaces kept for hard breaks, but
/// not at its end).
fn lines_inline(lines: &[&str]) -> Vec<Inline> {
    inline(join_lines(lines).trim_end())
}

/// `lines.join("\n")`, written out: `join` is compiled once for each type of list it joins
/// (about 1 KB of wasm, 0.1 KB of gzip, each), and the others join `String`s.
fn join_lines(lines: &[&str]) -> String {
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(line);
    }
    text
}

/// Parses a document into blocks.
#[cfg(test)]
pub fn parse(text: &str) -> Vec<Block> {
    parse_with_starts(text).0
}

/// Parses a document into blocks, with the byte offset in `text` where each block starts.
pub fn parse_with_starts(text: &str) -> (Vec<Block>, Vec<usize>) {
    let mut blocks = Vec::new();
    let mut starts = Vec::new();
    let mut open = Open::None;
    // Where the open block started.
    let mut open_start = 0;
    // Each block pushed gets the start of what made it.
    let note = |blocks: &Vec<Block>, starts: &mut Vec<usize>, at: usize| {
        starts.resize(blocks.len(), at);
    };
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line_start = line.as_ptr() as usize - text.as_ptr() as usize;
        let blank = line.trim().is_empty();
        // Lines that continue what is open.
        match &mut open {
            Open::Para(para) if !blank => {
                if let Some(level) = setext(line) {
                    let text = join_lines(&std::mem::take(para));
                    blocks.push(Block::Heading(level, inline(&text)));
                    note(&blocks, &mut starts, open_start);
                    open = Open::None;
                    continue;
                }
                if !starts_block(line) {
                    para.push(line.trim_start());
                    continue;
                }
            }
            Open::List {
                marker,
                items,
                blank: after_blank,
                ..
            } => match list_item(line) {
                Some((_, m, rest)) if m == *marker && !is_rule(line) => {
                    items.push(vec![rest]);
                    *after_blank = false;
                    continue;
                }
                _ if blank => {
                    *after_blank = true;
                    continue;
                }
                // Any other list marker starts a new list (not only one that could interrupt
                // a paragraph).
                _ if !*after_blank && !starts_block(line) && list_item(line).is_none() => {
                    if let Some(item) = items.last_mut() {
                        item.push(line.trim_start());
                    }
                    continue;
                }
                _ => {}
            },
            Open::Quote(paras) => {
                if let Some(rest) = quote_line(line) {
                    if rest.trim().is_empty() {
                        paras.push(Vec::new());
                    } else if let Some(p) = paras.last_mut() {
                        p.push(rest.trim_start());
                    }
                    continue;
                }
                let lazy = paras.last().is_some_and(|p| !p.is_empty());
                if !blank && lazy && !starts_block(line) {
                    if let Some(p) = paras.last_mut() {
                        p.push(line.trim_start());
                    }
                    continue;
                }
            }
            _ => {}
        }
        close(std::mem::replace(&mut open, Open::None), &mut blocks);
        note(&blocks, &mut starts, open_start);
        if blank {
            continue;
        }
        open_start = line_start;
        if let Some((c, len, info)) = fence(line) {
            let mut code = Vec::new();
            for l in lines.by_ref() {
                let (n, t) = indent(l);
                let closing = t.chars().take_while(|&x| x == c).count();
                if n <= 3 && closing >= len && t[closing..].trim().is_empty() {
                    break;
                }
                code.push(l);
            }
            blocks.push(Block::Code {
                lang: info.split_whitespace().next().unwrap_or("").to_owned(),
                text: join_lines(&code),
            });
            note(&blocks, &mut starts, line_start);
        } else if let Some((level, text)) = atx(line) {
            blocks.push(Block::Heading(level, inline(text)));
            note(&blocks, &mut starts, line_start);
        } else if is_rule(line) {
            blocks.push(Block::Rule);
            note(&blocks, &mut starts, line_start);
        } else if let Some(rest) = quote_line(line) {
            let first = match rest.trim_start() {
                t if t.trim().is_empty() => Vec::new(),
                t => vec![t],
            };
            open = Open::Quote(vec![first]);
        } else if let Some((start, marker, rest)) = list_item(line) {
            open = Open::List {
                start,
                marker,
                items: vec![vec![rest]],
                blank: false,
            };
        } else {
            open = Open::Para(vec![line.trim_start()]);
        }
    }
    close(open, &mut blocks);
    note(&blocks, &mut starts, open_start);
    (blocks, starts)
}

/// How much of a streamed document's rendering is final: `(blocks, offset)`, the number of
/// its first blocks that text appended later cannot change, and where the text after them
/// starts. Everything before the last block is final, unless that block starts on the last
/// line, which is still arriving (`#` is a heading, `#x` a paragraph's next line): then the
/// block before it is not final either. Parsing `text[offset..]` on its own gives the rest.
pub fn settled(text: &str, starts: &[usize]) -> (usize, usize) {
    let last_line = text.rfind('\n').map_or(0, |i| i + 1);
    let mut n = starts.len().saturating_sub(1);
    if n > 0 && starts[n] >= last_line && !text.ends_with('\n') {
        n -= 1;
    }
    (n, starts.get(n).copied().unwrap_or(0))
}

/// A link destination is kept only with a scheme that cannot run code in the page.
fn safe_href(href: &str) -> bool {
    let h = href.to_ascii_lowercase();
    h.starts_with("http://") || h.starts_with("https://") || h.starts_with("mailto:")
}

/// CommonMark's punctuation: ASCII punctuation, and elsewhere what is neither a letter, a
/// digit, a space nor a control.
fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() || (!c.is_ascii() && !c.is_alphanumeric() && !c.is_whitespace())
}

/// Whether a run of `c` between `before` and `after` (`None`: the line's edge) can open and
/// can close emphasis (CommonMark's flanking rules; `_` not inside a word).
fn can_open_close(c: char, before: Option<char>, after: Option<char>) -> (bool, bool) {
    let space = |x: Option<char>| x.is_none_or(char::is_whitespace);
    let punct = |x: Option<char>| x.is_some_and(is_punct);
    let left = !space(after) && (!punct(after) || space(before) || punct(before));
    let right = !space(before) && (!punct(before) || space(after) || punct(after));
    if c == '*' {
        (left, right)
    } else {
        (
            left && (!right || punct(before)),
            right && (!left || punct(after)),
        )
    }
}

/// The length of a run of `c` at the start of `s`, in bytes (`c` is ASCII).
fn run(s: &str, c: char) -> usize {
    s.chars().take_while(|&x| x == c).count()
}

/// What searches over one block's text already found missing, so that many unmatched
/// backticks or delimiters cost one pass each, not one pass per pair.
#[derive(Default)]
struct Missing {
    /// A run of this many backticks has no closing run at or after this position.
    code: Vec<(usize, usize)>,
    /// No run of `*` (0) or `_` (1) that can close is at or after this position.
    closer: [usize; 2],
}

impl Missing {
    fn new(len: usize) -> Missing {
        Missing {
            code: Vec::new(),
            closer: [len + 1; 2],
        }
    }
}

/// A code span at `i` in `text` (where a backtick is): its text and its end.
fn code_span(text: &str, i: usize, missing: &mut Missing) -> Option<(String, usize)> {
    let n = run(&text[i..], '`');
    if missing
        .code
        .iter()
        .any(|&(len, from)| len == n && from <= i)
    {
        return None;
    }
    let mut at = i + n;
    while let Some(j) = text[at..].find('`') {
        let m = run(&text[at + j..], '`');
        if m == n {
            let inner = text[i + n..at + j].replace(['\n', '\r'], " ");
            let strip = inner.len() >= 2
                && inner.starts_with(' ')
                && inner.ends_with(' ')
                && !inner.trim().is_empty();
            let code = if strip {
                inner[1..inner.len() - 1].to_owned()
            } else {
                inner
            };
            return Some((code, at + j + m));
        }
        at += j + m;
    }
    missing.code.push((n, i));
    None
}

/// Where the emphasis opened by the run of `c` from `i` to `from` closes, in `text` up to
/// `end`: the closing run's start and length. Code spans and escapes are skipped.
fn closer(
    text: &str,
    (i, from, end): (usize, usize, usize),
    c: char,
    missing: &mut Missing,
) -> Option<(usize, usize)> {
    let slot = usize::from(c == '_');
    if missing.closer[slot] <= from {
        return None;
    }
    let mut at = from;
    let mut nested = 0usize;
    while let Some(x) = text[at..end].chars().next() {
        match x {
            '\\' => at += 1 + text[at + 1..].chars().next().map_or(0, char::len_utf8),
            '`' => match code_span(text, at, missing) {
                Some((_, e)) if e <= end => at = e,
                _ => at += run(&text[at..], '`'),
            },
            _ if x == c => {
                let m = run(&text[at..end], c);
                let before = text[..at].chars().next_back();
                let after = text[at + m..end].chars().next();
                match can_open_close(c, before, after) {
                    // A run that only opens starts emphasis nested in this one...
                    (true, false) => nested += 1,
                    // ...which the next run that closes ends; the one after is this one's.
                    (_, true) if nested > 0 => nested -= 1,
                    (_, true) => return Some((at, m)),
                    _ => {}
                }
                at += m;
            }
            _ => at += x.len_utf8(),
        }
    }
    // Only a search over the block's whole text says nothing closes after `from`.
    if end == text.len() && i < from {
        missing.closer[slot] = missing.closer[slot].min(from);
    }
    None
}

/// A link `[text](destination "title")` at the start of `s`: the link and its length.
fn link(s: &str) -> Option<(Inline, usize)> {
    let mut depth = 0usize;
    let mut close = None;
    let mut i = 1;
    while let Some(c) = s[i..].chars().next() {
        match c {
            '\\' => i += 1,
            '[' => depth += 1,
            ']' if depth == 0 => {
                close = Some(i);
                break;
            }
            ']' => depth -= 1,
            _ => {}
        }
        i += s[i..].chars().next().map_or(1, char::len_utf8);
    }
    let close = close?;
    let rest = s[close + 1..].strip_prefix('(')?;
    let end = rest.find(')')?;
    let inside = rest[..end].trim();
    let (dest, title) = match inside.find(char::is_whitespace) {
        Some(w) => (&inside[..w], inside[w..].trim()),
        None => (inside, ""),
    };
    let quoted = title.len() >= 2
        && ((title.starts_with('"') && title.ends_with('"'))
            || (title.starts_with('\'') && title.ends_with('\'')));
    if !(title.is_empty() || quoted) || !safe_href(dest) {
        return None;
    }
    let link = Inline::Link {
        text: s[1..close].to_owned(),
        href: dest.to_owned(),
    };
    Some((link, close + 2 + end + 1))
}

/// An autolink `<https://…>` at the start of `s`.
fn autolink(s: &str) -> Option<(Inline, usize)> {
    let end = s.find('>')?;
    let url = &s[1..end];
    let plain = !url.contains(|c: char| c.is_whitespace() || c.is_control() || c == '<');
    (plain && safe_href(url)).then(|| {
        let link = Inline::Link {
            text: url.to_owned(),
            href: url.to_owned(),
        };
        (link, end + 1)
    })
}

/// Parses inline spans of one block's text.
pub fn inline(text: &str) -> Vec<Inline> {
    let mut missing = Missing::new(text.len());
    inline_at(text, 0, text.len(), 0, &mut missing)
}

/// The inline spans of `text[start..end]`, inside `depth` levels of emphasis.
fn inline_at(
    text: &str,
    start: usize,
    end: usize,
    depth: usize,
    missing: &mut Missing,
) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut i = start;
    while let Some(c) = text[i..end].chars().next() {
        let rest = &text[i..end];
        let styled: Option<(Inline, usize)> = match c {
            '\\' => match rest[1..].chars().next() {
                Some(e) if e.is_ascii_punctuation() => {
                    plain.push(e);
                    i += 2;
                    continue;
                }
                Some('\n') => Some((Inline::Break, 2)),
                _ => None,
            },
            '\n' => {
                let trimmed = plain.trim_end_matches(' ').len();
                let hard = plain.len() - trimmed >= 2;
                plain.truncate(trimmed);
                hard.then_some((Inline::Break, 1))
            }
            '`' => match code_span(text, i, missing).filter(|(_, e)| *e <= end) {
                Some((code, e)) => Some((Inline::Code(code), e - i)),
                None => {
                    // An unmatched run of backticks is text, all of it.
                    let n = run(rest, '`');
                    plain.push_str(&rest[..n]);
                    i += n;
                    continue;
                }
            },
            '<' => autolink(rest),
            '[' => link(rest),
            '*' | '_' if depth < MAX_NESTING => {
                let n = run(rest, c);
                let before = text[..i].chars().next_back();
                let after = rest[n..].chars().next();
                let found = can_open_close(c, before, after)
                    .0
                    .then(|| closer(text, (i, i + n, end), c, missing))
                    .flatten();
                match found {
                    Some((at, m)) => {
                        // Delimiters used on each side: two make strong emphasis, one
                        // emphasis; the opener's extra ones are text before it.
                        let k = n.min(m).min(2);
                        plain.push_str(&rest[..n - k]);
                        let inner = inline_at(text, i + n, at, depth + 1, missing);
                        let span = if k == 2 {
                            Inline::Strong(inner)
                        } else {
                            Inline::Emphasis(inner)
                        };
                        Some((span, at + k - i))
                    }
                    None => {
                        plain.push_str(&rest[..n]);
                        i += n;
                        continue;
                    }
                }
            }
            _ => None,
        };
        match styled {
            Some((span, len)) => {
                if !plain.is_empty() {
                    out.push(Inline::Text(std::mem::take(&mut plain)));
                }
                out.push(span);
                i += len;
            }
            None => {
                plain.push(c);
                i += c.len_utf8();
            }
        }
    }
    if !plain.is_empty() {
        out.push(Inline::Text(plain));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inline spans as CommonMark's HTML (without escaping), to compare with the spec.
    fn html(spans: &[Inline]) -> String {
        spans
            .iter()
            .map(|s| match s {
                Inline::Text(t) => t.clone(),
                Inline::Code(t) => format!("<code>{t}</code>"),
                Inline::Strong(i) => format!("<strong>{}</strong>", html(i)),
                Inline::Emphasis(i) => format!("<em>{}</em>", html(i)),
                Inline::Link { text, href } => format!("<a href=\"{href}\">{text}</a>"),
                Inline::Break => "<br />\n".to_owned(),
            })
            .collect()
    }

    fn md(text: &str) -> String {
        parse(text)
            .iter()
            .map(|b| match b {
                Block::Heading(l, s) => format!("<h{l}>{}</h{l}>", html(s)),
                Block::Paragraph(s) => format!("<p>{}</p>", html(s)),
                Block::List { start, items } => {
                    let items: String = items
                        .iter()
                        .map(|i| format!("<li>{}</li>", html(i)))
                        .collect();
                    match start {
                        None => format!("<ul>{items}</ul>"),
                        Some(1) => format!("<ol>{items}</ol>"),
                        Some(n) => format!("<ol start=\"{n}\">{items}</ol>"),
                    }
                }
                Block::Code { lang, text } => format!("<pre lang=\"{lang}\">{text}</pre>"),
                Block::Quote(p) => {
                    let p: String = p.iter().map(|p| format!("<p>{}</p>", html(p))).collect();
                    format!("<blockquote>{p}</blockquote>")
                }
                Block::Rule => "<hr />".to_owned(),
            })
            .collect()
    }

    #[test]
    fn intra_word_underscores_stay_text_as_commonmark_says() {
        // The issue's case, and spec examples 355, 356, 357, 358, 371, 372, 373.
        assert_eq!(md("snake_case_name"), "<p>snake_case_name</p>");
        assert_eq!(
            md("call `snake_case_name` or my_var_2"),
            "<p>call <code>snake_case_name</code> or my_var_2</p>"
        );
        assert_eq!(md("_foo bar_"), "<p><em>foo bar</em></p>");
        assert_eq!(md("_ foo bar_"), "<p>_ foo bar_</p>");
        assert_eq!(md("a_\"foo\"_"), "<p>a_\"foo\"_</p>");
        assert_eq!(md("foo_bar_"), "<p>foo_bar_</p>");
        assert_eq!(md("5_6_78"), "<p>5_6_78</p>");
        assert_eq!(md("пристаням_стремятся_"), "<p>пристаням_стремятся_</p>");
        assert_eq!(md("_foo_bar"), "<p>_foo_bar</p>");
        assert_eq!(md("_foo_bar_baz_"), "<p><em>foo_bar_baz</em></p>");
        assert_eq!(md("__foo__bar"), "<p>__foo__bar</p>");
        assert_eq!(
            md("__init__ and __main__.py"),
            "<p><strong>init</strong> and <strong>main</strong>.py</p>"
        );
    }

    #[test]
    fn asterisks_emphasize_inside_words_when_flanking() {
        // Spec examples 350, 351, 352, 353, 354, 378, 379, 387, 388.
        assert_eq!(md("*foo bar*"), "<p><em>foo bar</em></p>");
        assert_eq!(md("a * foo bar*"), "<p>a * foo bar*</p>");
        assert_eq!(md("a*\"foo\"*"), "<p>a*\"foo\"*</p>");
        assert_eq!(md("* a *"), "<ul><li>a *</li></ul>");
        assert_eq!(md("foo*bar*"), "<p>foo<em>bar</em></p>");
        assert_eq!(md("5*6*78"), "<p>5<em>6</em>78</p>");
        assert_eq!(md("**foo bar**"), "<p><strong>foo bar</strong></p>");
        assert_eq!(md("** foo bar**"), "<p>** foo bar**</p>");
        assert_eq!(md("foo**bar**"), "<p>foo<strong>bar</strong></p>");
        assert_eq!(md("*foo*bar"), "<p><em>foo</em>bar</p>");
        assert_eq!(md("**foo* bar"), "<p>*<em>foo</em> bar</p>");
        // Nested: strong inside emphasis and the other way round.
        assert_eq!(md("*a **b** c*"), "<p><em>a <strong>b</strong> c</em></p>");
        assert_eq!(md("**a *b* c**"), "<p><strong>a <em>b</em> c</strong></p>");
        assert_eq!(
            md("a * b ** c `d"),
            "<p>a * b ** c `d</p>",
            "unclosed markers"
        );
    }

    #[test]
    fn code_spans_as_the_spec_says() {
        // Spec examples 328, 329, 330, 331, 335, 338, 341, 346, 347, 349.
        assert_eq!(md("`foo`"), "<p><code>foo</code></p>");
        assert_eq!(md("`` foo ` bar ``"), "<p><code>foo ` bar</code></p>");
        assert_eq!(md("` `` `"), "<p><code>``</code></p>");
        assert_eq!(md("`  ``  `"), "<p><code> `` </code></p>");
        assert_eq!(
            md("``\nfoo\nbar  \nbaz\n``"),
            "<p><code>foo bar   baz</code></p>"
        );
        assert_eq!(md("`foo\\`bar`"), "<p><code>foo\\</code>bar`</p>");
        assert_eq!(md("*foo`*`"), "<p>*foo<code>*</code></p>");
        assert_eq!(md("```foo``"), "<p>```foo``</p>");
        assert_eq!(md("`foo"), "<p>`foo</p>");
        assert_eq!(md("`foo``bar``"), "<p>`foo<code>bar</code></p>");
    }

    #[test]
    fn backslash_escapes_and_hard_breaks() {
        // Spec examples 12, 13, 633, 634.
        assert_eq!(md("\\*not emphasized*"), "<p>*not emphasized*</p>");
        assert_eq!(md("\\_snake\\_"), "<p>_snake_</p>");
        assert_eq!(md("\\\\*emphasis*"), "<p>\\<em>emphasis</em></p>");
        assert_eq!(md("foo  \nbaz"), "<p>foo<br />\nbaz</p>");
        assert_eq!(md("foo\\\nbaz"), "<p>foo<br />\nbaz</p>");
        assert_eq!(
            md("foo\nbaz"),
            "<p>foo\nbaz</p>",
            "a soft break stays a newline"
        );
    }

    #[test]
    fn links_only_with_safe_schemes() {
        assert_eq!(
            md("[ok](https://a.b)"),
            "<p><a href=\"https://a.b\">ok</a></p>"
        );
        assert_eq!(
            md("[t](http://a.b \"title\")"),
            "<p><a href=\"http://a.b\">t</a></p>"
        );
        assert_eq!(
            md("[m](MAILTO:x@y.z)"),
            "<p><a href=\"MAILTO:x@y.z\">m</a></p>"
        );
        assert_eq!(
            md("<https://a.b/c?d>"),
            "<p><a href=\"https://a.b/c?d\">https://a.b/c?d</a></p>"
        );
        for bad in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x]( javascript:alert(1))",
            "[x](java\tscript:alert(1))",
            "[x](java\nscript:alert(1))",
            "[x](data:text/html,hi)",
            "[x](vbscript:msgbox)",
            "[x](&#106;avascript:alert(1))",
            "[x](//evil.example)",
            "[x](https://a.b oops)",
            "<javascript:alert(1)>",
            "<https://a.b c>",
            // Near misses of a safe scheme: `://` alone, or `http` inside, is not enough.
            "[x](javascript://%0Aalert(1))",
            "[x](javascript://https://a.b/%0Aalert(1))",
            "<javascript://%0Aalert(1)>",
            "[x](jav&#x61;script://a.b)",
            "[x](xhttps://a.b)",
            "[x](https:/a.b)",
            "[x](https:a.b)",
            "[x](mailto)",
        ] {
            let b = parse(bad);
            let html = md(bad);
            assert!(!html.contains("<a"), "{bad:?} made {html}");
            assert!(matches!(&b[0], Block::Paragraph(_)), "{bad:?}");
        }
        // Raw HTML stays text.
        assert_eq!(
            md("<b>x</b> <script>alert(1)</script>"),
            "<p><b>x</b> <script>alert(1)</script></p>"
        );
    }

    #[test]
    fn headings_rules_and_fences() {
        // Spec examples 62, 63, 64, 65, 71, 76, 80, 43, 47, 48, 57, 119, 121, 128, 130.
        assert_eq!(md("# foo\n###### foo"), "<h1>foo</h1><h6>foo</h6>");
        assert_eq!(md("####### foo"), "<p>####### foo</p>");
        assert_eq!(md("#5 bolt\n\n#hashtag"), "<p>#5 bolt</p><p>#hashtag</p>");
        assert_eq!(md("\\## foo"), "<p>## foo</p>");
        assert_eq!(
            md("## foo ##\n  ###   bar    ###"),
            "<h2>foo</h2><h3>bar</h3>"
        );
        assert_eq!(md("### foo ### b"), "<h3>foo ### b</h3>");
        assert_eq!(md("# foo#"), "<h1>foo#</h1>");
        assert_eq!(md("#"), "<h1></h1>");
        assert_eq!(md("***\n---\n___"), "<hr /><hr /><hr />");
        assert_eq!(md(" - - -"), "<hr />");
        assert_eq!(md("_____________________________________"), "<hr />");
        assert_eq!(md("Foo\n---\nbar"), "<h2>Foo</h2><p>bar</p>");
        assert_eq!(md("Foo *bar*\n========="), "<h1>Foo <em>bar</em></h1>");
        assert_eq!(md("```\n<\n >\n```"), "<pre lang=\"\"><\n ></pre>");
        assert_eq!(md("~~~\naaa\n```\n~~~"), "<pre lang=\"\">aaa\n```</pre>");
        assert_eq!(
            md("````\naaa\n```\n``````"),
            "<pre lang=\"\">aaa\n```</pre>"
        );
        assert_eq!(
            md("```ruby startline=3\ndef foo\n```"),
            "<pre lang=\"ruby\">def foo</pre>"
        );
        assert_eq!(md("``` aa ```\nfoo"), "<p><code>aa</code>\nfoo</p>");
        assert_eq!(md("```\nunclosed"), "<pre lang=\"\">unclosed</pre>");
    }

    #[test]
    fn lists_and_quotes() {
        // Spec examples 301, 302, 304, 306, 312, 228, 229, 233, 234.
        assert_eq!(
            md("- foo\n- bar\n+ baz"),
            "<ul><li>foo</li><li>bar</li></ul><ul><li>baz</li></ul>"
        );
        assert_eq!(
            md("1. foo\n2. bar\n3) baz"),
            "<ol><li>foo</li><li>bar</li></ol><ol start=\"3\"><li>baz</li></ol>"
        );
        assert_eq!(
            md("The number of windows in my house is\n14.  The number of doors is 6."),
            "<p>The number of windows in my house is\n14.  The number of doors is 6.</p>"
        );
        assert_eq!(
            md("- foo\n\n- bar\n\n\n- baz"),
            "<ul><li>foo</li><li>bar</li><li>baz</li></ul>"
        );
        assert_eq!(
            md("- a\n  continued\n- b"),
            "<ul><li>a\ncontinued</li><li>b</li></ul>"
        );
        assert_eq!(md("1234567890. not ok"), "<p>1234567890. not ok</p>");
        assert_eq!(md("-one\n\n2.two"), "<p>-one</p><p>2.two</p>");
        assert_eq!(
            md("> # Foo\n> bar\n> baz"),
            "<blockquote><p># Foo\nbar\nbaz</p></blockquote>"
        );
        assert_eq!(
            md("> bar\nbaz\n> foo"),
            "<blockquote><p>bar\nbaz\nfoo</p></blockquote>"
        );
        assert_eq!(
            md("> foo\n---"),
            "<blockquote><p>foo</p></blockquote><hr />"
        );
        assert_eq!(
            md("> a\n>\n> b\n\nafter"),
            "<blockquote><p>a</p><p>b</p></blockquote><p>after</p>"
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}x{}", "*a ".repeat(10_000), " a*".repeat(10_000));
        let b = parse(&deep);
        assert_eq!(b.len(), 1);
        let many = "_".repeat(100_000);
        assert_eq!(md(&many), "<hr />");
        let stars = "*a".repeat(50_000);
        assert!(md(&stars).starts_with("<p>"));
        // Many openers, or backticks, with nothing to close them: text, in one pass each.
        let open = "*a ".repeat(20_000);
        assert_eq!(md(&open), format!("<p>{}</p>", open.trim_end()));
        let ticks: String = (1..300).map(|n| format!("{}a", "`".repeat(n))).collect();
        assert_eq!(md(&ticks), format!("<p>{ticks}</p>"), "no two runs alike");
        let pairs = "`a".repeat(50_000);
        assert!(md(&pairs).starts_with("<p><code>a</code>a<code>"));
    }
}

#[cfg(test)]
mod settled_tests {
    use super::*;

    /// Documents with every kind of block, and the ways one block turns into another as text
    /// arrives (a setext underline, `#` before its space, a list continued after a blank line,
    /// a fence not yet closed, a quote's lazy line).
    const DOCS: &[&str] = &[
        "# Title\n\nA paragraph\nover two lines.\n\n- one\n- two\n\n- three after a blank\n\nEnd.\n",
        "Setext\n======\n\nand another\n---\n\n1. first\n2. second\n\n3. third\nlazy\n\n> quote\nlazy line\n\n> second\n",
        "Text\n```rust\nfn main() {}\n\nstill code\n```\nafter\n\n***\n\n#not a heading\n# a heading\n",
        "para\n#x\n\n~~~\nunclosed fence\n\n- a\n\n  b\n* other marker\n\n3) three\n4) four\n",
    ];

    /// At every point of every document, the blocks called settled are what the whole
    /// document has there, and the rest parses alone as it does in place.
    #[test]
    fn settled_blocks_never_change_and_the_rest_parses_alone() {
        for doc in DOCS {
            let whole = parse(doc);
            for cut in (0..=doc.len()).filter(|&i| doc.is_char_boundary(i)) {
                let prefix = &doc[..cut];
                let (blocks, starts) = parse_with_starts(prefix);
                assert_eq!(blocks.len(), starts.len());
                let (kept, offset) = settled(prefix, &starts);
                assert_eq!(
                    blocks[..kept],
                    whole[..kept],
                    "settled blocks changed later; cut at {cut} of {doc:?}"
                );
                assert_eq!(
                    parse(&prefix[offset..]),
                    blocks[kept..],
                    "the rest parsed alone differs; cut at {cut} of {doc:?}"
                );
            }
        }
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;

    /// Tabs go to the next multiple of 4, whatever came before them on the line.
    #[test]
    fn indentation_counts_tabs_to_the_next_stop() {
        assert_eq!(indent("x"), (0, "x"));
        assert_eq!(indent("   x"), (3, "x"));
        assert_eq!(indent("\tx"), (4, "x"));
        assert_eq!(indent("  \tx"), (4, "x"), "a tab after 2 spaces");
        assert_eq!(indent(" \t x"), (5, "x"));
        assert_eq!(indent("\t\tx"), (8, "x"));
        assert_eq!(indent("    "), (4, ""));
    }

    fn text(t: &str) -> Vec<Inline> {
        vec![Inline::Text(t.into())]
    }

    /// What may interrupt a paragraph, and what may not, each at its edge.
    #[test]
    fn blocks_that_interrupt_a_paragraph_and_those_that_do_not() {
        assert_eq!(parse("   # h"), vec![Block::Heading(1, text("h"))]);
        assert_eq!(
            parse("    # h"),
            vec![Block::Paragraph(text("# h"))],
            "4 spaces: not a heading"
        );
        assert_eq!(
            parse("para\n# h"),
            vec![Block::Paragraph(text("para")), Block::Heading(1, text("h"))]
        );
        assert_eq!(
            parse("para\n```\ncode\n```"),
            vec![
                Block::Paragraph(text("para")),
                Block::Code {
                    lang: String::new(),
                    text: "code".into()
                }
            ]
        );
        assert_eq!(
            parse("para\n> q"),
            vec![
                Block::Paragraph(text("para")),
                Block::Quote(vec![text("q")])
            ]
        );
        assert_eq!(
            parse("para\n- item"),
            vec![
                Block::Paragraph(text("para")),
                Block::List {
                    start: None,
                    items: vec![text("item")]
                }
            ]
        );
        assert_eq!(
            parse("para\n2. two"),
            vec![Block::Paragraph(text("para\n2. two"))],
            "a list from 2 does not interrupt"
        );
    }

    /// A blank line ends a list item's lazy lines; an empty first quote line is no paragraph.
    #[test]
    fn blank_lines_in_lists_and_quotes() {
        assert_eq!(
            parse("- a\n\nb"),
            vec![
                Block::List {
                    start: None,
                    items: vec![text("a")]
                },
                Block::Paragraph(text("b"))
            ]
        );
        assert_eq!(parse(">\n> text"), vec![Block::Quote(vec![text("text")])]);
    }

    /// `settled` keeps all it can: every block but the last of a document that ends a line,
    /// and the block before a last one that starts on the line still arriving.
    #[test]
    fn settled_keeps_all_but_what_can_still_change() {
        let check = |doc: &str, want: usize| {
            let (blocks, starts) = parse_with_starts(doc);
            assert_eq!(settled(doc, &starts).0, want, "{doc:?}: {blocks:?}");
        };
        check("# a\n\npara\n\n- x\n", 2);
        check("# h\nx\nmore", 1);
        check("# h\n\n#", 0);
        check("", 0);
    }

    /// Punctuation by CommonMark's rule, at its edges: ASCII punctuation, and beyond ASCII
    /// what is neither a letter, a digit nor a space.
    #[test]
    fn punctuation_beyond_ascii_is_neither_letter_digit_nor_space() {
        assert!(is_punct('!') && is_punct('"'));
        assert!(!is_punct('a') && !is_punct(' ') && !is_punct('7'));
        assert!(is_punct('—'), "an em dash");
        assert!(!is_punct('é'), "a letter beyond ASCII");
        assert!(!is_punct('\u{3000}'), "a space beyond ASCII");
    }

    /// A `*` before punctuation opens emphasis only after a space, punctuation or the line's
    /// start (CommonMark's left-flanking rule).
    #[test]
    fn emphasis_before_punctuation_opens_only_after_a_space_or_punctuation() {
        assert_eq!(
            inline("*\"q\"*"),
            vec![Inline::Emphasis(text("\"q\""))],
            "at the line's start"
        );
        assert_eq!(
            inline("say *\"q\"*"),
            vec![Inline::Text("say ".into()), Inline::Emphasis(text("\"q\""))]
        );
        assert_eq!(inline("a*\"q\"*"), text("a*\"q\"*"), "after a letter: text");
    }

    /// Inside emphasis, an escaped `*` and a backtick run without its closer are text: they
    /// neither close the emphasis nor stop it.
    #[test]
    fn escapes_and_lone_backticks_inside_emphasis_are_text() {
        assert_eq!(inline("*a \\* b*"), vec![Inline::Emphasis(text("a * b"))]);
        assert_eq!(inline("*a ` b*"), vec![Inline::Emphasis(text("a ` b"))]);
        assert_eq!(
            inline("*a `*` b*"),
            vec![Inline::Emphasis(vec![
                Inline::Text("a ".into()),
                Inline::Code("*".into()),
                Inline::Text(" b".into())
            ])],
            "a code span's `*` does not close"
        );
    }

    /// A code span loses one space at each end only when it has one at both ends.
    #[test]
    fn a_code_span_is_stripped_only_when_spaced_at_both_ends() {
        assert_eq!(inline("` a `"), vec![Inline::Code("a".into())]);
        assert_eq!(inline("` a`"), vec![Inline::Code(" a".into())]);
        assert_eq!(inline("`a `"), vec![Inline::Code("a ".into())]);
    }

    fn link(text: &str, href: &str) -> Inline {
        Inline::Link {
            text: text.into(),
            href: href.into(),
        }
    }

    /// A link's text may hold balanced brackets and escaped ones; its title must be quoted
    /// with matching quotes; an autolink holds no space, control or `<`.
    #[test]
    fn links_at_their_edges() {
        let url = "https://example.com";
        assert_eq!(
            inline("[a [b] c](https://example.com)"),
            vec![link("a [b] c", url)]
        );
        assert_eq!(
            inline("[a \\] c](https://example.com)"),
            vec![link("a \\] c", url)],
            "an escaped bracket does not end the text"
        );
        assert_eq!(
            inline("[a [b c](https://example.com)"),
            vec![Inline::Text("[a ".into()), link("b c", url)],
            "an unbalanced bracket: the inner one is the link"
        );
        assert_eq!(
            inline("[é ü](https://example.com)"),
            vec![link("é ü", url)],
            "text beyond ASCII"
        );
        assert_eq!(
            inline("[t](https://example.com \"title\")"),
            vec![link("t", url)]
        );
        assert_eq!(
            inline("[t](https://example.com 'title')"),
            vec![link("t", url)]
        );
        for bad in [
            "[t](https://example.com \"title')",
            "[t](https://example.com 'title\")",
            "[t](https://example.com title)",
            "[t](https://example.com \")",
        ] {
            assert_eq!(inline(bad), text(bad), "{bad:?}");
        }
        assert_eq!(inline("<https://example.com>"), vec![link(url, url)]);
        for bad in [
            "<https://exa mple.com>",
            "<https://exa\u{7}mple.com>",
            "<https://a<b>",
        ] {
            assert!(
                !inline(bad).iter().any(|i| matches!(i, Inline::Link { .. })),
                "{bad:?}"
            );
        }
    }

    /// List markers at their edges: up to 3 spaces of indentation (a tab is 4), one to nine
    /// digits, `.` or `)`, then a space, a tab or the end of the line.
    #[test]
    fn list_markers_at_their_edges() {
        assert_eq!(list_item("   - x"), Some((None, '-', "x")));
        assert_eq!(list_item("    - x"), None, "4 spaces: not a list item");
        assert_eq!(list_item("\t- x"), None, "a tab is 4 spaces");
        assert_eq!(list_item("12. twelve"), Some((Some(12), '.', "twelve")));
        assert_eq!(list_item("7)\tseven"), Some((Some(7), ')', "seven")));
        assert_eq!(list_item("1."), Some((Some(1), '.', "")), "an empty item");
        assert_eq!(list_item("-"), Some((None, '-', "")));
        assert_eq!(list_item("1.x"), None, "no space after the marker");
        assert_eq!(
            list_item("123456789. x"),
            Some((Some(123_456_789), '.', "x"))
        );
        assert_eq!(list_item("1234567890. x"), None, "ten digits");
        assert_eq!(list_item("x. y"), None);
        // As the parser uses them: a list that starts at 12 keeps its number.
        assert_eq!(
            parse("12. twelve\n13. thirteen"),
            vec![Block::List {
                start: Some(12),
                items: vec![
                    vec![Inline::Text("twelve".into())],
                    vec![Inline::Text("thirteen".into())]
                ],
            }]
        );
    }
}
