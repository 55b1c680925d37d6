//! A JSON value as a collapsible tree, read lazily from the text as sent: a node's children
//! exist (in memory and in the DOM) only while it is expanded, and large objects and arrays
//! are grouped in pages of 100, as browser devtools do.
//!
//! However deep the value nests, the DOM does not (see [`crate::depth`]): a container
//! [`depth::JSON_LEVELS`] levels down is a row that opens it as the root of a new view of the
//! tree, stacked over the previous one (hidden, as the reader left it) with a way back.

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

// Pages are the decoder's (it outlines large values in pages of the same size).
use user_trace_model::json::{self, JsonKind, PAGE};
use user_trace_model::protocol::RawJson;
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::json_string;
use crate::label_text;
use crate::views::clipboard::{self, copy_button};
use crate::views::label::label;
use crate::{depth, dom};

/// Longest string shown before it is cut (the full value can still be copied).
const MAX_SHOWN_CHARS: usize = 2_000;

fn class_of(kind: JsonKind) -> &'static str {
    match kind {
        JsonKind::String => "utp-json-string",
        JsonKind::Number => "utp-json-number",
        JsonKind::Bool => "utp-json-bool",
        JsonKind::Null => "utp-json-null",
        JsonKind::Object | JsonKind::Array => "utp-json-summary",
    }
}

/// A scalar as shown: strings decoded (a lone surrogate as U+FFFD), quoted and cut; other
/// scalars exactly as sent. Shown as a label: a `\n` in a string shows as `\n` and keeps the
/// row on one line.
fn scalar_text(raw: &str) -> String {
    match json::kind(raw) {
        JsonKind::String => {
            let s = json_string::decode(raw);
            match s.char_indices().nth(MAX_SHOWN_CHARS) {
                Some((cut, _)) => format!("\"{}…\" ({} bytes)", &s[..cut], s.len()),
                None => format!("\"{s}\""),
            }
        }
        _ => raw.trim().to_owned(),
    }
}

/// A key as shown: quoted when it would otherwise be invisible or misleading (empty, or
/// starting or ending with whitespace), as `""` rather than a bare `: 3`.
pub fn key_text(key: &str) -> Cow<'_, str> {
    if key.is_empty() || key.starts_with(char::is_whitespace) || key.ends_with(char::is_whitespace)
    {
        Cow::Owned(format!("\"{key}\""))
    } else {
        Cow::Borrowed(key)
    }
}

/// Byte offset of `part` inside `whole` (a slice of it).
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// A JSON value as a tree. Its text is shared, not copied; the top level's outline, when the
/// decoder already found it (large values), spares the tree a pass over the text before its
/// first paint. `open`: whether the top level starts expanded.
pub fn json_tree(json: &RawJson, open: bool) -> Element {
    let (text, range) = json.shared();
    let (start, end) = (range.start, range.end);
    let known = Arc::new(OnceLock::new());
    // The decoder's outline is of the value's exact text (it has no surrounding whitespace).
    if let Some(o) = json.outline() {
        let _ = known.set(Outline {
            start,
            end,
            found: o,
        });
    }
    let root = dom::el("div", "utp-json");
    dom::set(&root, "role", "group");
    let view = dom::add(&root, "div", "utp-json-view");
    let node = Value {
        text,
        start,
        end,
        key: None,
        path: "$".to_owned(),
        count: None,
        level: 0,
        depth: 0,
    };
    let _ = view.append_child(&json_node(node, open, Some(known)));
    root
}

/// One value of a larger document as a node of the tree, with its key (as shown), path and
/// level: for a view that builds the levels above it itself (a document still streaming).
pub fn value_node(
    text: Arc<str>,
    key: Option<String>,
    path: String,
    level: usize,
    open: bool,
) -> Element {
    let end = text.len();
    let node = Value {
        text,
        start: 0,
        end,
        key,
        path,
        count: None,
        level,
        depth: level,
    };
    json_node(node, open, None)
}

/// A value in the tree: where it is in the text, its key and path.
#[derive(Clone)]
struct Value {
    text: Arc<str>,
    start: usize,
    end: usize,
    key: Option<String>,
    path: String,
    /// The value's member count when the parent's pass already found it.
    count: Option<usize>,
    /// How deep the value is in the whole value (0: the top).
    level: usize,
    /// How deep it is in the view that shows it (0: the view's root).
    depth: usize,
}

/// Where indentation stops, a row says its level.
fn level_badge(row: &Element, n: &Value) {
    if !depth::indents(n.depth) {
        let l = dom::add_text(row, "span", "utp-level", &format!("L{}", n.level));
        dom::set(&l, "title", &format!("nesting level {}", n.level));
    }
}

/// Opens `n` as the root of a new view of its tree, over the view the row `from` is in (which
/// is hidden as it is, and shown again by the new view's Back button).
fn open_here(from: &Element, n: &Value) {
    let Some(view) = from.closest(".utp-json-view").ok().flatten() else {
        return;
    };
    let Some(tree) = view.parent_element() else {
        return;
    };
    dom::set(&view, "hidden", "");
    let new = dom::add(&tree, "div", "utp-json-view");
    let bar = dom::add(&new, "div", "utp-json-focus");
    let back = dom::add_text(&bar, "button", "", "← Back");
    dom::set(&back, "title", "Show the levels above");
    // The listener holds no element: it finds the views from the button.
    dom::on(&back, "click", |e| {
        let Some(view) = dom::target(&e).and_then(|b| b.closest(".utp-json-view").ok().flatten())
        else {
            return;
        };
        if let Some(above) = view.previous_element_sibling() {
            let _ = above.remove_attribute("hidden");
        }
        view.remove();
    });
    // Keys are trace content: controls and direction controls shown, not applied.
    let tail = depth::path_tail(&n.path, 40);
    let place = format!("level {} · {}", n.level, label_text::plain(&tail));
    let place = dom::add_text(&bar, "span", "utp-json-place", &place);
    let title = depth::path_tail(&n.path, 2_000);
    dom::set(&place, "title", &label_text::plain(&title));
    let root = Value {
        depth: 0,
        ..n.clone()
    };
    let _ = new.append_child(&json_node(root, true, None));
    if let Ok(b) = back.dyn_into::<web_sys::HtmlElement>() {
        let _ = b.focus();
    }
}

/// The most characters of a value shown beside a long key, which then takes the rest of the row
/// (`.utp-json-short` in the stylesheet): a number, a word, a container's summary.
const SHORT_VALUE: usize = 14;

/// The key and the two copy buttons of a member's row.
fn key_and_actions(row: &Element, n: &Value, value: (&str, &str)) {
    // Found by a reveal (views::reveal).
    dom::set(row, "data-path", &n.path);
    if let Some(k) = &n.key {
        label(row, "span", "utp-json-key", &key_text(k), "");
        dom::add_text(row, "span", "utp-json-colon", ": ");
    }
    label(row, "span", value.0, value.1, "");
    if value.1.chars().count() <= SHORT_VALUE {
        let _ = row.class_list().add_1("utp-json-short");
    }
    let actions = dom::add(row, "span", "utp-json-actions");
    let (text, start, end) = (n.text.clone(), n.start, n.end);
    copy_button(
        &actions,
        "Copy value",
        Rc::new(move || text.get(start..end).unwrap_or("").trim().to_owned()),
    );
    let path = n.path.clone();
    copy_button(&actions, clipboard::PATH, Rc::new(move || path.clone()));
}

/// A row that expands and collapses: `fill` builds its children into the group below it when
/// it expands; collapsing drops them (from memory and the DOM). `fill` is held by the row's
/// listener, so it must hold no element of the row's tree (`dom::on`): it builds from data, or
/// finds what it shows from the DOM.
pub(crate) fn expandable(
    row_class: &str,
    open: bool,
    flat: bool,
    head: &dyn Fn(&Element),
    fill: Box<dyn Fn(&Element)>,
) -> Element {
    let node = dom::el("div", "utp-json-node");
    let row = dom::add(&node, "div", row_class);
    dom::set(&row, "role", "treeitem");
    dom::set(&row, "tabindex", "-1");
    let caret = dom::add(&row, "span", "utp-caret");
    head(&row);
    // Past the indented levels, children are drawn flush with their parent.
    let class = if flat {
        "utp-json-children utp-flat"
    } else {
        "utp-json-children"
    };
    let children = dom::add(&node, "div", class);
    dom::set(&children, "role", "group");
    set_open(&row, &caret, &children, open, &*fill);
    // The listener holds no element: it finds the caret and the group from the row.
    dom::on(&row, "click", move |e| {
        let Some(row) = dom::target(&e) else { return };
        let (Some(caret), Some(children)) = (row.first_element_child(), row.next_element_sibling())
        else {
            return;
        };
        let open = row.get_attribute("aria-expanded").as_deref() != Some("true");
        set_open(&row, &caret, &children, open, &*fill);
    });
    node
}

/// Shows a row as expanded (its children built by `fill`) or collapsed (its children gone).
fn set_open(
    row: &Element,
    caret: &Element,
    children: &Element,
    open: bool,
    fill: &dyn Fn(&Element),
) {
    dom::set(row, "aria-expanded", dom::aria_bool(open));
    dom::toggle_class(caret, "utp-open", open);
    if open {
        fill(children);
    } else {
        children.set_text_content(None);
    }
}

/// One member: its key, and its value (a scalar, or an expandable container).
fn json_node(n: Value, open: bool, outline: Option<Arc<OnceLock<Outline>>>) -> Element {
    let raw = n.text.get(n.start..n.end).unwrap_or("null");
    let kind = json::kind(raw);
    // One pass over a container finds its pages, its count and its members' counts; it is
    // made at most once, and not at all for a collapsed node whose parent counted it.
    let outline = outline.unwrap_or_default();
    let total = match kind.is_container() {
        true => n
            .count
            .unwrap_or_else(|| outline_of(&outline, &n.text, n.start, n.end).found.count),
        false => 0,
    };
    if !kind.is_container() || total == 0 {
        // A scalar, or an empty container (`{}`, `[]`): nothing to expand.
        let row = dom::el("div", "utp-json-row");
        dom::set(&row, "role", "treeitem");
        dom::set(&row, "tabindex", "-1");
        dom::add(&row, "span", "utp-caret-space");
        level_badge(&row, &n);
        let shown = match kind {
            JsonKind::Object => "{}".to_owned(),
            JsonKind::Array => "[]".to_owned(),
            _ => scalar_text(raw),
        };
        key_and_actions(&row, &n, (class_of(kind), &shown));
        if kind == JsonKind::String && crate::copy::looks_like_json_string(raw) {
            return json_in_string_node(row, &n);
        }
        return row;
    }
    if depth::json_is_way_in(n.depth) {
        return way_in(n, kind, total);
    }
    let summary = json::container_summary(kind, total);
    let head = |row: &Element| {
        level_badge(row, &n);
        key_and_actions(row, &n, ("utp-json-summary", &summary));
    };
    let (text, start, end, path) = (n.text.clone(), n.start, n.end, n.path.clone());
    let below = (n.level + 1, n.depth + 1);
    let fill = Box::new(move |children: &Element| {
        let outline = outline_of(&outline, &text, start, end);
        members(children, &text, outline, &path, below);
    });
    let flat = !depth::indents(below.1);
    expandable("utp-json-row utp-clickable", open, flat, &head, fill)
}

/// A string row whose text looks like JSON, with a button that shows that JSON as a tree
/// below the row (checked when pressed; invalid JSON says why).
fn json_in_string_node(row: Element, n: &Value) -> Element {
    let node = dom::el("div", "utp-json-node");
    let _ = node.append_child(&row);
    let actions = row
        .query_selector(".utp-json-actions")
        .ok()
        .flatten()
        .unwrap_or_else(|| row.clone());
    let b = dom::add_text(&actions, "button", "utp-json-as-tree", "{…}");
    dom::set(&b, "type", "button");
    dom::set(&b, "aria-label", "View the string as JSON");
    dom::set(&b, "title", "View the string as JSON");
    dom::set(&b, "aria-expanded", "false");
    let (text, start, end) = (n.text.clone(), n.start, n.end);
    dom::on(&b, "click", move |e| {
        e.stop_propagation();
        let Some(b) = dom::target(&e) else { return };
        let Some(node) = b.closest(".utp-json-node").ok().flatten() else {
            return;
        };
        if let Ok(Some(shown)) = node.query_selector(":scope > .utp-json-inner") {
            shown.remove();
            dom::set(&b, "aria-expanded", "false");
            return;
        }
        let inner = dom::add(&node, "div", "utp-json-inner");
        let decoded = json_string::decode(text.get(start..end).unwrap_or("").trim());
        match crate::copy::json_in_string(&decoded) {
            Some(Ok(json)) => {
                let _ = inner.append_child(&json_tree(&json, true));
            }
            Some(Err(why)) => {
                dom::add_text(&inner, "div", "utp-err", &format!("Not JSON: {why}"));
            }
            None => {}
        }
        dom::set(&b, "aria-expanded", "true");
    });
    node
}

/// A container past the view's nesting cap: a collapsed row that opens it as a new view.
fn way_in(n: Value, kind: JsonKind, count: usize) -> Element {
    let row = dom::el("div", "utp-json-row utp-clickable utp-json-way-in");
    dom::set(&row, "role", "treeitem");
    dom::set(&row, "tabindex", "-1");
    dom::set(&row, "aria-expanded", "false");
    dom::add(&row, "span", "utp-caret");
    level_badge(&row, &n);
    let summary = json::container_summary(kind, count);
    key_and_actions(&row, &n, ("utp-json-summary", &summary));
    dom::add_text(&row, "span", "utp-json-open", "open here");
    dom::on(&row, "click", move |e| {
        if let Some(row) = dom::target(&e) {
            open_here(&row, &n);
        }
    });
    row
}

fn member_views<'a>(
    parent: &Element,
    text: &Arc<str>,
    members: impl Iterator<Item = json::Member<'a>>,
    first_index: usize,
    path: &str,
    (level, depth): (usize, usize),
) {
    for (i, m) in members.enumerate() {
        let index = first_index + i;
        let start = offset_in(text, m.value);
        let key = m.key.map(|k| json_string::decode(k).into_owned());
        let end = start + m.value.len();
        // The decoder's pages of a large member: expanding it makes no pass over it.
        let known = (!m.pages.is_empty()).then(|| {
            let cell = OnceLock::new();
            let _ = cell.set(Outline {
                start,
                end,
                found: Arc::new(json::Outline {
                    starts: m.pages.to_vec(),
                    count: m.count,
                    first_page: Vec::new(),
                }),
            });
            Arc::new(cell)
        });
        let node = Value {
            text: text.clone(),
            start,
            end,
            key: key.or_else(|| Some(index.to_string())),
            path: format!("{path}{}", json::path_segment(m.key, index)),
            count: Some(m.count),
            level,
            depth,
        };
        let _ = parent.append_child(&json_node(node, false, known));
    }
}
/// Where a container's members are: its trimmed span in the text, and its outline (pages,
/// count, and the members themselves when they fit on one page).
struct Outline {
    start: usize,
    end: usize,
    found: Arc<json::Outline>,
}

fn outline_of<'a>(
    cell: &'a OnceLock<Outline>,
    text: &str,
    start: usize,
    end: usize,
) -> &'a Outline {
    cell.get_or_init(|| {
        let raw = text.get(start..end).unwrap_or("").trim();
        let start = offset_in(text, raw);
        Outline {
            start,
            end: start + raw.len(),
            found: Arc::new(json::outline(raw, PAGE)),
        }
    })
}

/// The members of an expanded container, paged when there are many.
fn members(
    parent: &Element,
    text: &Arc<str>,
    outline: &Outline,
    path: &str,
    below: (usize, usize),
) {
    let raw = text.get(outline.start..outline.end).unwrap_or("");
    if outline.found.starts.len() <= 1 {
        let found = outline.found.first_page.iter().filter_map(|m| m.get(raw));
        member_views(parent, text, found, 0, path, below);
        return;
    }
    let paging = Rc::new(Paging {
        text: text.clone(),
        start: outline.start,
        end: outline.end,
        found: outline.found.clone(),
        path: path.to_owned(),
        below,
    });
    page_rows(parent, &paging, 0..paging.found.starts.len());
}

/// What the pages of one large container share.
struct Paging {
    text: Arc<str>,
    /// The container's span in `text`.
    start: usize,
    end: usize,
    /// Where each page of [`PAGE`] members starts (relative to `start`) and how many there are.
    found: Arc<json::Outline>,
    path: String,
    /// The members' level and depth (see [`Value`]).
    below: (usize, usize),
}

/// One row per page or group of pages in `pages`; never more than [`PAGE`] rows.
fn page_rows(parent: &Element, paging: &Rc<Paging>, pages: std::ops::Range<usize>) {
    for pages in json::page_groups(pages, PAGE) {
        let _ = parent.append_child(&json_page(paging.clone(), pages));
    }
}

/// `[first … last]`: the label of a page or group of members.
pub(crate) fn range_label(first: usize, last: usize) -> String {
    format!("[{first} … {last}]")
}

/// A collapsed group `[first … last]` of a large container's members: one page of members, or
/// (above 10,000 members) a group of pages.
fn json_page(paging: Rc<Paging>, pages: std::ops::Range<usize>) -> Element {
    let first = pages.start * PAGE;
    let last = (pages.end * PAGE).min(paging.found.count).saturating_sub(1);
    let label = range_label(first, last);
    let flat = !depth::indents(paging.below.1);
    let head = |row: &Element| {
        dom::text(row, &label);
    };
    let fill = Box::new(move |children: &Element| {
        if pages.len() > 1 {
            return page_rows(children, &paging, pages.clone());
        }
        let container = paging.text.get(paging.start..paging.end).unwrap_or("");
        let from = paging.found.starts.get(pages.start).copied().unwrap_or(0);
        let page = json::members_from(container, from).take(PAGE);
        member_views(
            children,
            &paging.text,
            page,
            first,
            &paging.path,
            paging.below,
        );
    });
    let node = expandable(
        "utp-json-row utp-clickable utp-json-page",
        false,
        flat,
        &head,
        fill,
    );
    // The members it holds, for a reveal (views::reveal).
    if let Some(row) = node.first_element_child() {
        dom::set(&row, "data-first", &first.to_string());
        dom::set(&row, "data-last", &last.to_string());
    }
    node
}
