//! A JSON value as a collapsible tree, read lazily from the text as sent: a node's children
//! exist (in memory and in the DOM) only while it is expanded, and large objects and arrays
//! are grouped in pages of 100, as browser devtools do.

use std::sync::{Arc, OnceLock};

use leptos::prelude::*;
// Pages are the decoder's (it outlines large values in pages of the same size).
use user_trace_model::json::{self, JsonKind, PAGE};

use crate::views::clipboard::CopyButton;

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

/// A scalar as shown: strings decoded, quoted and cut; other scalars exactly as sent.
fn scalar_text(raw: &str) -> String {
    match json::kind(raw) {
        JsonKind::String => {
            let s = json::decode_string(raw.trim());
            match s.char_indices().nth(MAX_SHOWN_CHARS) {
                Some((cut, _)) => format!("\"{}…\" ({} bytes)", &s[..cut], s.len()),
                None => format!("\"{s}\""),
            }
        }
        _ => raw.trim().to_owned(),
    }
}

/// Byte offset of `part` inside `whole` (a slice of it).
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// A JSON value as a tree.
#[component]
pub fn JsonTree(
    /// The JSON text, exactly as sent (shared, not copied).
    text: Arc<str>,
    /// The top level's outline when the decoder already found it (large values): the tree
    /// then needs no pass over the text before its first paint.
    #[prop(default = None)]
    outline: Option<Arc<json::Outline>>,
    /// Whether the top level starts expanded.
    #[prop(optional)]
    open: bool,
) -> impl IntoView {
    let end = text.len();
    let known = Arc::new(OnceLock::new());
    if let Some(o) = outline.filter(|_| text.trim().len() == end) {
        let _ = known.set(Outline {
            start: 0,
            end,
            found: o,
        });
    }
    view! {
        <div class="utp-json" role="group">
            <JsonNode text start=0 end key=None path="$".to_owned() open count=None outline=known />
        </div>
    }
}

/// One member: its key, and its value (a scalar, or an expandable container).
#[component]
fn JsonNode(
    text: Arc<str>,
    start: usize,
    end: usize,
    key: Option<String>,
    path: String,
    open: bool,
    /// The value's member count when the parent's pass already found it.
    count: Option<usize>,
    /// The value's outline when it is already known (else found when first needed).
    #[prop(optional)]
    outline: Option<Arc<OnceLock<Outline>>>,
) -> AnyView {
    let raw = text.get(start..end).unwrap_or("null");
    let kind = json::kind(raw);
    let key_view = key.map(|k| {
        view! {
            <span class="utp-json-key">{k}</span>
            <span class="utp-json-colon">": "</span>
        }
    });
    let copy_value = {
        let text = text.clone();
        Callback::new(move |_| text.get(start..end).unwrap_or("").trim().to_owned())
    };
    let copy_path = {
        let path = path.clone();
        Callback::new(move |_| path.clone())
    };
    if !kind.is_container() {
        return view! {
            <div class="utp-json-row">
                <span class="utp-caret-space"></span>
                {key_view}
                <span class=class_of(kind)>{scalar_text(raw)}</span>
                <span class="utp-json-actions">
                    <CopyButton text=copy_value label="Copy value" />
                    <CopyButton text=copy_path label="Copy path" />
                </span>
            </div>
        }
        .into_any();
    }
    let expanded = RwSignal::new(open);
    // One pass over a container finds its pages, its count and its members' counts; it is
    // made at most once, and not at all for a collapsed node whose parent counted it.
    let outline = outline.unwrap_or_default();
    let total = count.unwrap_or_else(|| outline_of(&outline, &text, start, end).found.count);
    let summary = json::container_summary(kind, total);
    let children = move || {
        expanded.get().then(|| {
            let outline = outline_of(&outline, &text, start, end);
            members(&text, outline, &path)
        })
    };
    view! {
        <div class="utp-json-node">
            <div
                class="utp-json-row utp-clickable"
                role="treeitem"
                tabindex="-1"
                aria-expanded=move || expanded.get().to_string()
                on:click=move |_| expanded.update(|e| *e = !*e)
            >
                <span class="utp-caret" class:utp-open=move || expanded.get()></span>
                {key_view}
                <span class="utp-json-summary">{summary}</span>
                <span class="utp-json-actions">
                    <CopyButton text=copy_value label="Copy value" />
                    <CopyButton text=copy_path label="Copy path" />
                </span>
            </div>
            <div class="utp-json-children" role="group">{children}</div>
        </div>
    }
    .into_any()
}

fn member_views<'a>(
    text: &Arc<str>,
    members: impl Iterator<Item = json::Member<'a>>,
    first_index: usize,
    path: &str,
) -> Vec<AnyView> {
    members
        .enumerate()
        .map(|(i, m)| {
            let index = first_index + i;
            let start = offset_in(text, m.value);
            let end = start + m.value.len();
            let key = m.key.map(|k| json::decode_string(k).into_owned());
            let label = key.clone().or_else(|| Some(index.to_string()));
            let path = format!("{path}{}", json::path_segment(m.key, index));
            let count = Some(m.count);
            view! { <JsonNode text=text.clone() start end key=label path open=false count /> }
                .into_any()
        })
        .collect()
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
fn members(text: &Arc<str>, outline: &Outline, path: &str) -> AnyView {
    let raw = text.get(outline.start..outline.end).unwrap_or("");
    if outline.found.starts.len() <= 1 {
        let found = outline.found.first_page.iter().filter_map(|m| m.get(raw));
        return member_views(text, found, 0, path).into_any();
    }
    let paging = Paging {
        text: text.clone(),
        start: outline.start,
        end: outline.end,
        found: outline.found.clone(),
        path: path.to_owned(),
    };
    page_rows(&paging, 0..paging.found.starts.len())
}

/// What the pages of one large container share.
#[derive(Clone)]
struct Paging {
    text: Arc<str>,
    /// The container's span in `text`.
    start: usize,
    end: usize,
    /// Where each page of [`PAGE`] members starts (relative to `start`) and how many there are.
    found: Arc<json::Outline>,
    path: String,
}

/// One row per page or group of pages in `pages`; never more than [`PAGE`] rows.
fn page_rows(paging: &Paging, pages: std::ops::Range<usize>) -> AnyView {
    json::page_groups(pages, PAGE)
        .into_iter()
        .map(|pages| view! { <JsonPage paging=paging.clone() pages /> }.into_any())
        .collect::<Vec<_>>()
        .into_any()
}

/// A collapsed group `[first … last]` of a large container's members: one page of members, or
/// (above 10,000 members) a group of pages.
#[component]
fn JsonPage(paging: Paging, pages: std::ops::Range<usize>) -> impl IntoView {
    let expanded = RwSignal::new(false);
    let first = pages.start * PAGE;
    let last = (pages.end * PAGE).min(paging.found.count).saturating_sub(1);
    let label = format!("[{first} … {last}]");
    let children = move || {
        expanded.get().then(|| {
            if pages.len() > 1 {
                return page_rows(&paging, pages.clone());
            }
            let container = paging.text.get(paging.start..paging.end).unwrap_or("");
            let from = paging.found.starts.get(pages.start).copied().unwrap_or(0);
            let page = json::members_from(container, from).take(PAGE);
            member_views(&paging.text, page, first, &paging.path).into_any()
        })
    };
    view! {
        <div class="utp-json-node">
            <div
                class="utp-json-row utp-clickable utp-json-page"
                role="treeitem"
                tabindex="-1"
                aria-expanded=move || expanded.get().to_string()
                on:click=move |_| expanded.update(|e| *e = !*e)
            >
                <span class="utp-caret" class:utp-open=move || expanded.get()></span>
                {label}
            </div>
            <div class="utp-json-children" role="group">{children}</div>
        </div>
    }
}
