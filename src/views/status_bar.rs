//! The status area: the connection's state, and notices (skipped messages, evictions).

use crate::reactive::*;
use web_sys::Element;

use crate::connection::Status;
use crate::dom;
use crate::format;
use crate::store::{Level, Store};

/// What the connection's state says: its `data-state` and its words.
fn describe(status: Status) -> (&'static str, String) {
    match status {
        Status::Offline => ("offline", "Not connected".to_owned()),
        Status::Connecting => ("connecting", "Connecting…".to_owned()),
        Status::Live => ("live", "Live".to_owned()),
        Status::Reconnecting { in_ms, attempt } => (
            "reconnecting",
            format!(
                "Reconnecting in {} (attempt {attempt})",
                format::duration(u64::from(in_ms) * 1000)
            ),
        ),
        Status::Incompatible(m) => ("incompatible", m),
    }
}

/// Appends the status area to `parent`: the connection's state (with a retry button, which
/// calls `retry`, while reconnecting), the counters, the latest notice, and all notices when
/// that is clicked.
pub fn status_bar(parent: &Element, store: Store, status: RwSignal<Status>, retry: Callback<()>) {
    let bar = dom::add(parent, "div", "utp-statusbar");
    let conn = dom::add(&bar, "span", "utp-conn");
    dom::set(&conn, "role", "status");
    dom::effect(move || {
        let (state, text) = describe(status.get());
        dom::set(&conn, "data-state", state);
        dom::set_text(&conn, &text);
    });
    dom::show(
        &bar,
        move || matches!(status.get(), Status::Reconnecting { .. }),
        move || {
            let b = dom::el("button", "utp-retry");
            b.set_text_content(Some("Retry now"));
            dom::on(&b, "click", move |_| retry.run(()));
            b
        },
    );
    let counters = dom::add(&bar, "span", "utp-counters");
    dom::effect(move || {
        let c = store.counters.get();
        let mut s = crate::format::count(c.applied, "event", "events");
        if c.rejected > 0 {
            s.push_str(&format!(" · {} skipped", c.rejected));
        }
        if c.evicted > 0 {
            s.push_str(&format!(
                " · {} evicted",
                crate::format::count(c.evicted, "trace", "traces")
            ));
        }
        dom::set_text(&counters, &s);
    });
    let expanded = RwSignal::new(false);
    dom::show(
        &bar,
        move || store.notices.with(|n| !n.is_empty()),
        move || {
            let notice = dom::el("button", "utp-notice");
            dom::set(&notice, "title", "Show all notices");
            dom::on(&notice, "click", move |_| expanded.update(|e| *e = !*e));
            let node = notice.clone();
            dom::effect(move || {
                let latest = store
                    .notices
                    .with(|n| n.last().cloned().map(|l| (l, n.len())));
                let Some((n, count)) = latest else { return };
                node.set_class_name(match n.level {
                    Level::Info => "utp-notice",
                    Level::Warning => "utp-notice utp-warn",
                    Level::Error => "utp-notice utp-err",
                });
                let more = if count > 1 {
                    format!(" (+{})", count - 1)
                } else {
                    String::new()
                };
                dom::set_text(&node, &format!("{}{more}", n.text));
                let open = dom::aria_bool(expanded.get());
                dom::set(&node, "aria-expanded", open);
            });
            notice
        },
    );
    dom::show(
        parent,
        move || expanded.get(),
        move || {
            let list = dom::el("ul", "utp-notices");
            dom::set(&list, "role", "log");
            let node = list.clone();
            dom::effect(move || {
                node.set_text_content(None);
                store.notices.with(|n| {
                    for n in n.iter().rev() {
                        dom::add_text(&node, "li", "", &n.text);
                    }
                })
            });
            list
        },
    );
}
