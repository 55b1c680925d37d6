//! The panel's stylesheet, compiled in so that a JavaScript host gets a styled panel from one
//! `mount` call or one `<user-trace-panel>` tag. Rust hosts and the preview link
//! `style/panel.css` themselves (Trunk) and need not call this.

/// The stylesheet's text (`style/panel.css`).
pub const CSS: &str = include_str!("../style/panel.css");

const ID: &str = "utp-styles";

/// Adds the stylesheet to the document's head once; later calls do nothing.
pub fn ensure() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
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
