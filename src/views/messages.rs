//! A `messages` span: a conversation, one row per message, its role shown by a label and a
//! colour; tool calls with their arguments as JSON trees, tool results naming the call they
//! answer (a result that is a JSON object or array is a JSON tree too, once it is whole). Rows
//! are virtualized as every long list is.
//!
//! The last message streams as a text span does (`message_append`): its text is in blocks
//! ([`crate::text_chunks`]) and a token is appended to the last block's Text node, so a frame
//! costs the same however long the conversation or the message grows.

use std::rc::Rc;

use crate::reactive::*;
use user_trace_model::protocol::{Content, Message, MessageContent, Part, RawJson};
use user_trace_model::{Model, SpanId};
use web_sys::Element;

use crate::dom;
use crate::store::Store;
use crate::views::json_tree::json_tree;
use crate::views::label::label;
use crate::views::text_span::{append, recut_on_resize};
use crate::views::virtual_list::virtual_list;
use crate::views::Ctx;

/// How far back a tool result looks for the call it answers (to name the tool).
const CALL_LOOKBACK: usize = 200;

/// The class of a role's colour; roles the protocol does not name share a neutral one.
fn role_class(role: &str) -> &'static str {
    match role {
        "system" => "utp-msg utp-role-system",
        "user" => "utp-msg utp-role-user",
        "assistant" => "utp-msg utp-role-assistant",
        "tool" => "utp-msg utp-role-tool",
        _ => "utp-msg utp-role-other",
    }
}

fn message(m: &Model, id: SpanId, index: usize) -> Option<&Message> {
    match m.span(id).map(|s| &s.content) {
        Some(Content::Messages(list)) => list.get(index),
        _ => None,
    }
}

/// The messages of a span.
pub fn messages_span(cx: Ctx, id: SpanId) -> Element {
    let store = cx.store;
    let list = dom::el("div", "utp-messages");
    dom::set(&list, "role", "group");
    dom::set(&list, "aria-label", "Conversation");
    let trigger = store.span_trigger(id);
    // Which rows there are: this changes when a message is added or the content replaced, not
    // when the last message grows, so that a token costs O(1) here, not O(messages).
    // `count + revision * 2^17` (a span holds at most 100,000 messages): one number, so that
    // this memo is of a type the panel already has.
    let shape = Memo::new(move |_| {
        trigger.track();
        let mut shape = 0usize;
        store.read(&mut |m| {
            if let Some(s) = m.span(id) {
                let n = match &s.content {
                    Content::Messages(list) => list.len(),
                    _ => 0,
                };
                shape = n | (s.revision as usize) << 17;
            }
        });
        shape
    });
    // A replaced content is new rows (the revision is in the key), not the old rows updated.
    let keys = Memo::new(move |_| {
        let shape = shape.get();
        let (revision, n) = (shape >> 17, shape & ((1 << 17) - 1));
        (0..n as u64)
            .map(|i| ((revision as u64) << 32) | i)
            .collect::<Vec<u64>>()
    });
    let row: Rc<dyn Fn(u64) -> Element> =
        Rc::new(move |k| message_row(store, id, (k & 0xffff_ffff) as usize));
    virtual_list(&list, keys, cx.viewport, row);
    list
}

/// What a row shows of its message's streamed text: how many parts the message had and how
/// many bytes of its last text are in the DOM.
struct Shown {
    parts: usize,
    bytes: usize,
    /// Where appended text goes.
    target: Option<Element>,
    /// Whether the target's blocks are cut again when its width changes.
    observed: bool,
    /// Whether the text is shown as a JSON tree (a tool's result).
    tree: bool,
}

/// A tool's result as JSON, when its text is one object or array (tools often answer so):
/// shown as a tree, as the call's arguments are. A result still arriving is not one yet.
fn json_result(msg: &Message, text: &str) -> Option<RawJson> {
    let t = text.trim();
    let whole =
        (t.starts_with('{') && t.ends_with('}')) || (t.starts_with('[') && t.ends_with(']'));
    if msg.tool_call_id.is_none() || !whole {
        return None;
    }
    RawJson::from_string(t.to_owned()).ok()
}

fn part_count(m: &Message) -> usize {
    match &m.content {
        MessageContent::Text(_) => 0,
        MessageContent::Parts(parts) => parts.len(),
    }
}

/// Message `index` of span `id`: a focusable tree item whose text grows while it streams.
fn message_row(store: Store, id: SpanId, index: usize) -> Element {
    let mut class = role_class("");
    store.read(&mut |m| {
        if let Some(msg) = message(m, id, index) {
            class = role_class(&msg.role);
        }
    });
    let row = dom::el("div", class);
    dom::set(&row, "role", "treeitem");
    dom::set(&row, "tabindex", "-1");
    let trigger = store.span_trigger(id);
    let node = row.clone();
    let mut shown = Shown {
        parts: 0,
        bytes: 0,
        target: None,
        observed: false,
        tree: false,
    };
    let mut built = false;
    // What the effect sets up to last as long as the row (not until its next run).
    let owner = Owner::current().unwrap_or_default();
    dom::effect(move || {
        trigger.track();
        store.read(&mut |m| {
            let Some(msg) = message(m, id, index) else {
                return;
            };
            let text = msg.last_text().unwrap_or("");
            let grown = text.len() != shown.bytes;
            // A tree's text that changed, or a result that became whole JSON, shows anew.
            let reshown =
                grown && (shown.tree || (part_count(msg) == 0 && json_result(msg, text).is_some()));
            if !built || part_count(msg) != shown.parts || text.len() < shown.bytes || reshown {
                // Made, or a part was added after a part that is not text: (re)built whole.
                node.set_text_content(None);
                shown = owner.with(|| build(&node, m, id, index, msg));
                built = true;
                return;
            }
            if text.len() == shown.bytes || !text.is_char_boundary(shown.bytes) {
                return;
            }
            if let Some(target) = &shown.target {
                append(target, &text[shown.bytes..]);
                if !shown.observed && target.child_element_count() > 1 {
                    owner.with(|| recut_on_resize(target));
                    shown.observed = true;
                }
            }
            shown.bytes = text.len();
        });
    });
    row
}

/// Fills a message's row: its head, its text or parts, its tool calls.
fn build(row: &Element, m: &Model, id: SpanId, index: usize, msg: &Message) -> Shown {
    let head = dom::add(row, "div", "utp-msg-head");
    label(&head, "span", "utp-msg-role", &msg.role, "");
    if let Some(name) = &msg.name {
        label(&head, "span", "utp-msg-name", name, "");
    }
    if let Some(call) = &msg.tool_call_id {
        dom::add_text(&head, "span", "utp-msg-for", "result of");
        if let Some(tool) = tool_name(m, id, index, call) {
            label(&head, "span", "utp-msg-tool", &tool, "");
        }
        label(&head, "code", "utp-msg-call-id", call, "");
    }
    let mut shown = Shown {
        parts: part_count(msg),
        bytes: 0,
        target: None,
        observed: false,
        tree: false,
    };
    match &msg.content {
        MessageContent::Text(t) => {
            shown.bytes = t.len();
            if let Some(json) = json_result(msg, t) {
                let part = dom::add(row, "div", "utp-msg-part");
                let _ = part.append_child(&json_tree(&json, true));
                shown.tree = true;
            } else {
                shown.target = Some(text_block(row, t));
            }
        }
        MessageContent::Parts(parts) => {
            for p in parts {
                match p {
                    Part::Text(t) => {
                        let el = text_block(row, t);
                        shown.bytes = t.len();
                        shown.target = Some(el);
                    }
                    Part::Other(raw) => {
                        shown.target = None;
                        let part = dom::add(row, "div", "utp-msg-part");
                        // Open: its `type` says what it is at a glance.
                        let _ = part.append_child(&json_tree(raw, true));
                    }
                }
            }
        }
    }
    if let Some(el) = shown
        .target
        .as_ref()
        .filter(|e| e.child_element_count() > 1)
    {
        recut_on_resize(el);
        shown.observed = true;
    }
    if !msg.tool_calls.is_empty() {
        let calls = dom::add(row, "div", "utp-tool-calls");
        for call in &msg.tool_calls {
            let box_ = dom::add(&calls, "div", "utp-tool-call");
            let head = dom::add(&box_, "div", "utp-tool-call-head");
            dom::add_text(&head, "span", "utp-msg-for", "calls");
            label(&head, "span", "utp-msg-tool", &call.name, "");
            if let Some(id) = &call.id {
                label(&head, "code", "utp-msg-call-id", id, "");
            }
            let _ = box_.append_child(&json_tree(&call.arguments, true));
        }
    }
    shown
}

/// A block of message text: its line breaks kept, its direction its own, shown as text.
fn text_block(row: &Element, text: &str) -> Element {
    let el = dom::add(row, "div", "utp-msg-text");
    dom::set(&el, "dir", "auto");
    append(&el, text);
    el
}

/// The name of the tool whose call `call` a message before `index` made.
fn tool_name(m: &Model, id: SpanId, index: usize, call: &str) -> Option<String> {
    let Some(Content::Messages(list)) = m.span(id).map(|s| &s.content) else {
        return None;
    };
    let before = list.get(index.saturating_sub(CALL_LOOKBACK)..index)?;
    before.iter().rev().find_map(|msg| {
        msg.tool_calls
            .iter()
            .find(|c| c.id.as_deref() == Some(call))
            .map(|c| c.name.clone())
    })
}
