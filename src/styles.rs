//! The panel's stylesheet, compiled in so that a JavaScript host gets a styled panel from one
//! `mount` call or one `<user-trace-panel>` tag. Rust hosts and the preview link
//! `style/panel.css` themselves (Trunk) and need not call this.

/// The stylesheet's text (`style/panel.css`) without its comments and with each run of
/// whitespace as one space, done at compile time: the comments are for whoever reads the file,
/// and were a quarter of what the stylesheet adds to the wasm (gzip).
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
/// (when given); returns the length. The stylesheet has no comment marks or runs of spaces
/// inside strings.
const fn compact(css: &[u8], mut out: Option<&mut [u8]>) -> usize {
    let (mut i, mut n) = (0, 0);
    let mut space = false;
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
        if space && n > 0 {
            if let Some(out) = &mut out {
                out[n] = b' ';
            }
            n += 1;
        }
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
        assert!(
            CSS.contains(r#".utp-caret::before { content: "▸";"#),
            "{CSS}"
        );
        assert!(CSS.contains("font: var(--utp-font-size) / 1.45 var(--utp-font);"));
        let mut out = [0u8; 16];
        let n = compact(b"a /* x */ b\n\n  c", Some(&mut out));
        assert_eq!(&out[..n], b"a b c");
    }
}
