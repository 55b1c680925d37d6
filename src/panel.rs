//! A panel's element and what fills it: the toolbar, the status area and the tree under one
//! owner, with the connection. The JavaScript API (`crate::js`) and the Rust component
//! (`crate::component`) both build a panel this way.

use web_sys::Element;

use crate::reactive::*;

use crate::connection::{Connection, Status};
use crate::dom;
use crate::filter::Filter;
use crate::store::Store;
use crate::views::errors::errors_nav;
use crate::views::find_bar::find_bar;
use crate::views::status_bar::status_bar;
use crate::views::tail::follow_state;
use crate::views::toolbar::toolbar;
use crate::views::tree::tree;
use crate::views::{FoldCommand, PanelCx};

/// A panel's element, empty (`theme`: `"light"`, `"dark"` or empty for the system's).
pub(crate) fn section(theme: &str) -> Element {
    let s = dom::el("section", "utp-panel");
    dom::set(&s, "aria-label", "User traces");
    dom::set(&s, "data-theme", theme);
    s
}

/// Fills a panel's `section`: opens the connection to `url` (if any) and builds the toolbar,
/// the status area and the tree, all under the current owner (its cleanup closes them).
pub(crate) fn fill(section: &Element, url: Option<String>, store: Store) {
    let status = RwSignal::new(Status::Offline);
    let connection = url
        .filter(|u| !u.is_empty())
        .map(|u| Connection::open(u, store, status));
    let connection = StoredValue::new_local(connection);
    on_cleanup(move || {
        connection.with_value(|c| {
            if let Some(c) = c {
                c.dispose();
            }
        })
    });
    let retry = Callback::new(move |_| {
        connection.with_value(|c| {
            if let Some(c) = c {
                c.reconnect_now();
            }
        })
    });
    let cx = PanelCx {
        store,
        filter: RwSignal::new(Filter::default()),
        follow: RwSignal::new(true),
        fold: RwSignal::new(FoldCommand::default()),
    };
    crate::links::install(section, cx);
    toolbar(section, cx);
    find_bar(section, cx);
    status_bar(section, store, status, retry);
    errors_nav(section, cx);
    follow_state(section, store, cx.follow);
    tree(section, cx);
}
