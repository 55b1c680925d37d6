//! A small markdown reader: blocks and inline spans as data, rendered by the markdown view as
//! DOM nodes with text content only. Raw HTML is not a thing here: it stays text.
//!
//! Supported: ATX headings, paragraphs, bullet and numbered lists, fenced code, block quotes,
//! horizontal rules; inline code, **strong**, *emphasis*, [links](http://…) (http, https and
//! mailto only; anything else is shown as text).

/// A block of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading(u8, Vec<Inline>),
    Paragraph(Vec<Inline>),
    List {
        ordered: bool,
        items: Vec<Vec<Inline>>,
    },
    Code {
        lang: String,
        text: String,
    },
    Quote(Vec<Inline>),
    Rule,
}

/// A run of text with one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Code(String),
    Strong(String),
    Emphasis(String),
    Link { text: String, href: String },
}

fn list_item(line: &str) -> Option<(bool, &str)> {
    let t = line.trim_start();
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(bullet) {
            return Some((false, rest));
        }
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && digits < 10 {
        if let Some(rest) = t[digits..].strip_prefix(". ") {
            return Some((true, rest));
        }
    }
    None
}

/// Parses a document into blocks.
pub fn parse(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let mut lines = text.lines().peekable();
    let flush = |para: &mut Vec<&str>, blocks: &mut Vec<Block>| {
        if !para.is_empty() {
            blocks.push(Block::Paragraph(inline(&para.join(" "))));
            para.clear();
        }
    };
    while let Some(line) = lines.next() {
        let t = line.trim();
        if let Some(fence) = t.strip_prefix("```") {
            flush(&mut para, &mut blocks);
            let mut code = Vec::new();
            for l in lines.by_ref() {
                if l.trim_start().starts_with("```") {
                    break;
                }
                code.push(l);
            }
            blocks.push(Block::Code {
                lang: fence.trim().to_owned(),
                text: code.join("\n"),
            });
        } else if t.is_empty() {
            flush(&mut para, &mut blocks);
        } else if t.starts_with('#') && t.trim_start_matches('#').starts_with(' ') {
            flush(&mut para, &mut blocks);
            let level = t.bytes().take_while(|&b| b == b'#').count().min(6) as u8;
            blocks.push(Block::Heading(
                level,
                inline(t.trim_start_matches('#').trim()),
            ));
        } else if t == "---" || t == "***" || t == "___" {
            flush(&mut para, &mut blocks);
            blocks.push(Block::Rule);
        } else if let Some(q) = t.strip_prefix('>') {
            flush(&mut para, &mut blocks);
            blocks.push(Block::Quote(inline(q.trim())));
        } else if let Some((ordered, first)) = list_item(line) {
            flush(&mut para, &mut blocks);
            let mut items = vec![inline(first)];
            while let Some((o, rest)) = lines.peek().and_then(|l| list_item(l)) {
                if o != ordered {
                    break;
                }
                items.push(inline(rest));
                lines.next();
            }
            blocks.push(Block::List { ordered, items });
        } else {
            para.push(t);
        }
    }
    flush(&mut para, &mut blocks);
    blocks
}

/// Emphasis needs text that neither starts nor ends with a space (`a * b *` is not emphasis).
fn flanked(inner: &str) -> bool {
    !inner.is_empty()
        && !inner.starts_with(char::is_whitespace)
        && !inner.ends_with(char::is_whitespace)
}

fn safe_href(href: &str) -> bool {
    let h = href.trim().to_ascii_lowercase();
    h.starts_with("http://") || h.starts_with("https://") || h.starts_with("mailto:")
}

/// Parses inline spans of one block's text.
pub fn inline(text: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    let push_plain = |plain: &mut String, out: &mut Vec<Inline>| {
        if !plain.is_empty() {
            out.push(Inline::Text(std::mem::take(plain)));
        }
    };
    while let Some(c) = rest.chars().next() {
        let styled = match c {
            '`' => rest[1..]
                .find('`')
                .map(|end| (Inline::Code(rest[1..1 + end].to_owned()), end + 2)),
            '*' | '_' if rest[1..].starts_with(c) => {
                let marker = &rest[..2];
                rest[2..]
                    .find(marker)
                    .filter(|&e| flanked(&rest[2..2 + e]))
                    .map(|end| (Inline::Strong(rest[2..2 + end].to_owned()), end + 4))
            }
            '*' | '_' => rest[1..]
                .find(c)
                .filter(|&e| flanked(&rest[1..1 + e]))
                .map(|end| (Inline::Emphasis(rest[1..1 + end].to_owned()), end + 2)),
            '[' => rest.find("](").and_then(|mid| {
                let close = rest[mid + 2..].find(')')? + mid + 2;
                let href = &rest[mid + 2..close];
                safe_href(href).then(|| {
                    (
                        Inline::Link {
                            text: rest[1..mid].to_owned(),
                            href: href.trim().to_owned(),
                        },
                        close + 1,
                    )
                })
            }),
            _ => None,
        };
        match styled {
            Some((span, len)) => {
                push_plain(&mut plain, &mut out);
                out.push(span);
                rest = &rest[len..];
            }
            None => {
                plain.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    push_plain(&mut plain, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_of_a_report() {
        let doc = "# Title\n\nSome **bold** and *it*\ncontinued.\n\n- a\n- b `x`\n\n1. one\n2. two\n\n```rust\nlet x = 1;\n```\n> quoted\n---";
        let b = parse(doc);
        assert_eq!(b[0], Block::Heading(1, vec![Inline::Text("Title".into())]));
        assert_eq!(
            b[1],
            Block::Paragraph(vec![
                Inline::Text("Some ".into()),
                Inline::Strong("bold".into()),
                Inline::Text(" and ".into()),
                Inline::Emphasis("it".into()),
                Inline::Text(" continued.".into()),
            ])
        );
        assert!(matches!(&b[2], Block::List { ordered: false, items } if items.len() == 2));
        assert!(matches!(&b[3], Block::List { ordered: true, items } if items.len() == 2));
        assert_eq!(
            b[4],
            Block::Code {
                lang: "rust".into(),
                text: "let x = 1;".into()
            }
        );
        assert_eq!(b[5], Block::Quote(vec![Inline::Text("quoted".into())]));
        assert_eq!(b[6], Block::Rule);
    }

    #[test]
    fn raw_html_and_unsafe_links_stay_text() {
        let b = parse("<script>alert(1)</script> [x](javascript:alert(1)) [ok](https://a.b)");
        let Block::Paragraph(spans) = &b[0] else {
            panic!()
        };
        assert_eq!(
            spans[0],
            Inline::Text("<script>alert(1)</script> [x](javascript:alert(1)) ".into())
        );
        assert_eq!(
            spans[1],
            Inline::Link {
                text: "ok".into(),
                href: "https://a.b".into()
            }
        );
    }

    #[test]
    fn unclosed_markers_are_text() {
        assert_eq!(
            inline("a * b ** c `d"),
            vec![Inline::Text("a * b ** c `d".into())]
        );
    }
}
