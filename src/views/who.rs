//! Who wrote what (issue 17, item 8): a span that several processes wrote into says so, in
//! words and to a screen reader, beside the badges (coloured by `crate::process_colour`).

use web_sys::Element;

use crate::{dom, label_text};

/// Appends "N writers" to a span header when processes besides its creator wrote into it; its
/// tooltip and accessible name list them all, the creator first.
pub fn writers_note(row: &Element, creator: &str, writers: &[String]) {
    if writers.is_empty() {
        return;
    }
    let names: Vec<_> = std::iter::once(creator)
        .chain(writers.iter().map(String::as_str))
        .map(|p| label_text::plain(p).into_owned())
        .collect();
    let note = dom::add_text(
        row,
        "span",
        "utp-writers",
        &format!("{} writers", names.len()),
    );
    dom::set(&note, "title", &format!("Written by {}", names.join(", ")));
    dom::set(
        &note,
        "aria-label",
        &format!(
            "{} processes wrote into this span: {}",
            names.len(),
            names.join(", ")
        ),
    );
}
