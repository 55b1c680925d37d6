//! The panel's stylesheet, compiled in so that a JavaScript host gets a styled panel from one
//! `mount` call or one `<user-trace-panel>` tag. Rust hosts and the preview link
//! `style/panel.css` themselves (Trunk) and need not call this.

/// The stylesheet's text (`style/panel.css`) without its comments and with each run of
/// whitespace as one space, or none beside punctuation that needs none, done at compile time:
/// the comments and spaces are for whoever reads the file, and were a quarter of what the
/// stylesheet adds to the wasm (gzip).
pub const CSS: &str = match std::str::from_utf8(&COMPACT) {
    Ok(css) => css,
    Err(_) => panic!("removing ASCII comments and spaces keeps UTF-8 whole"),
};

const RAW: &[u8] = include_bytes!("../style/panel.css");
// A static, not a const: a const this large would be copied wherever it is used.
static COMPACT: [u8; compact(RAW, None)] = {
    let mut out = [0; compact(RAW, None)];
    compact(RAW, Some(&mut out));
    out
};

/// Writes `css` without its comments and with each run of whitespace as one space into `out`
/// (when given), or as none after `{`, `}`, `;`, `,` and `:` or before `{`, `}`, `;` and `,`
/// (never around `+`, `-` or `>`, which `calc` and selectors read); returns the length. The
/// stylesheet has no comment marks, runs of spaces or that punctuation beside a space inside
/// strings (a test checks its strings come through whole).
const fn compact(css: &[u8], mut out: Option<&mut [u8]>) -> usize {
    let (mut i, mut n) = (0, 0);
    let mut space = false;
    let mut last = b' ';
    while i < css.len() {
        if css[i] == b'/' && i + 1 < css.len() && css[i + 1] == b'*' {
            i += 2;
            while i + 1 < css.len() && !(css[i] == b'*' && css[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
            continue;
        }
        let c = css[i];
        i += 1;
        if c.is_ascii_whitespace() {
            space = true;
            continue;
        }
        let after = n > 0 && matches!(last, b'{' | b'}' | b';' | b',' | b':');
        if space && n > 0 && !after && !matches!(c, b'{' | b'}' | b';' | b',') {
            if let Some(out) = &mut out {
                out[n] = b' ';
            }
            n += 1;
        }
        last = c;
        space = false;
        if let Some(out) = &mut out {
            out[n] = c;
        }
        n += 1;
    }
    n
}

const ID: &str = "utp-styles";

/// Adds the stylesheet to the document's head once; later calls do nothing.
pub fn ensure() {
    let document = crate::dom::document();
    if document.get_element_by_id(ID).is_some() {
        return;
    }
    let Ok(style) = document.create_element("style") else {
        return;
    };
    style.set_id(ID);
    style.set_text_content(Some(CSS));
    if let Some(head) = document.head() {
        let _ = head.append_child(&style);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compact_stylesheet_has_every_rule_and_no_comment() {
        assert!(!CSS.contains("/*") && !CSS.contains("  ") && !CSS.contains('\n'));
        assert!(
            CSS.len() < RAW.len() * 9 / 10,
            "{} of {}",
            CSS.len(),
            RAW.len()
        );
        let raw = std::str::from_utf8(RAW).unwrap();
        assert_eq!(CSS.matches('{').count(), raw.matches('{').count());
        assert!(CSS.contains(r#".utp-caret::before{content:"▸";"#), "{CSS}");
        // Spaces that separate stay: `/` in a shorthand, a descendant selector, `calc`'s signs.
        assert!(CSS.contains("font:var(--utp-font-size) / 1.45 var(--utp-font);"));
        assert!(CSS.contains(".utp-markdown :is(p,li,"));
        assert!(CSS.contains(".utp-caret + .utp-label{"));
        for calc in raw.split("calc(").skip(1) {
            let inner = &calc[..calc.find(')').unwrap_or(calc.len())];
            assert!(CSS.contains(&format!("calc({inner}")), "calc({inner})");
        }
        // Every quoted string as it is written (outside comments, which may quote too).
        let code: String = raw
            .split("/*")
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part
                } else {
                    part.split_once("*/").map_or("", |(_, rest)| rest)
                }
            })
            .collect();
        for quoted in code.split('"').skip(1).step_by(2) {
            assert!(CSS.contains(&format!("\"{quoted}\"")), "{quoted:?}");
        }
        let mut out = [0u8; 32];
        let n = compact(b"a /* x */ b\n\n  c { x: y; z: 1 , 2 }", Some(&mut out));
        assert_eq!(&out[..n], b"a b c{x:y;z:1,2}");
    }
}
