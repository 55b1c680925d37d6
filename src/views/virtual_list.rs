//! A virtualized list: only the blocks of rows near the viewport are in the DOM (see
//! [`crate::windowing`] for the layout rules). One `IntersectionObserver` on the tree's scroller
//! ([`Viewport`]) tells every block of every list, at any nesting depth, when it comes near.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::reactive::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, Node};

use crate::dom::{self, Mounted};
use crate::windowing::{
    block_count, block_rows, group_blocks, group_count, group_initially_near, group_rows,
    initially_mounted, HeightEstimate,
};

/// How near the visible area a block mounts: within one viewport above or below, so that
/// scrolling shows rows, not blank space. Sideways, any distance: a list is virtualized by
/// where its rows are vertically only, and a nested block that starts right of the visible area
/// (deep in the tree, or scrolled sideways) must still mount.
const NEAR: &str = "100% 1000000px";
/// How far from it a mounted block must go before it unmounts: two viewports. Between the two,
/// a block stays as it is, so that scrolling back and forth across one edge does not mount and
/// unmount the same rows every frame (it did with one margin for both).
const FAR: &str = "200% 1000000px";
/// A row's height before any was measured (a span's header and one line).
const FALLBACK_ROW_PX: f64 = 48.0;

type OnChange = Rc<dyn Fn(bool, f64)>;
type After = Rc<dyn Fn(&Element)>;
/// The observer and the callback it calls, which must live as long as it.
struct Observer {
    observer: web_sys::IntersectionObserver,
    _callback: Closure<dyn FnMut(js_sys::Array)>,
}

/// An element watched for coming near the viewport or leaving it, and what it is told.
struct Watch {
    el: Element,
    on_change: OnChange,
    /// When the observer at [`NEAR`] last saw it come near (`IntersectionObserverEntry.time`).
    /// Both observers' reports of one rendering arrive one observer after the other, and a
    /// report of going far from before that is stale: acted on, it unmounted rows that had
    /// come near since (a nested list mounting while its tree scrolled to its end).
    near_at: std::cell::Cell<f64>,
}

/// What stands in for a group or a block while it is far from the viewport (not mounted):
/// how tall it was and how many rows it had then.
#[derive(Clone, Copy, PartialEq)]
struct Placeholder {
    height: f64,
    rows: usize,
}

struct Watched {
    root: Element,
    /// The observers at [`NEAR`] (it mounts) and at [`FAR`] (it unmounts).
    observers: Option<(Observer, Observer)>,
    /// What is watched, by the number in its element's `data-utp-block`. A number is used
    /// again once its element is no longer watched (`free`): a `Vec` costs the wasm less code
    /// than a map, and the numbers stay as few as the elements watched at once.
    blocks: Vec<Option<Watch>>,
    free: Vec<u32>,
    /// Called with the root after blocks came near or went (rows mount, heights change).
    after: Option<After>,
}

/// The scroller that lists virtualize against; made by the tree, passed down to every list.
#[derive(Clone, Copy)]
pub struct Viewport {
    watched: StoredValue<Watched, LocalStorage>,
}

impl Viewport {
    pub fn new(root: Element) -> Self {
        Viewport {
            watched: StoredValue::new_local(Watched {
                root,
                observers: None,
                blocks: Vec::new(),
                free: Vec::new(),
                after: None,
            }),
        }
    }

    /// An observer at `margin` that reports only what crossed it towards `near` (the observer
    /// at [`NEAR`] only blocks coming near, the one at [`FAR`] only blocks going far).
    fn make_observer(&self, margin: &str, near: bool) -> Option<Observer> {
        let root = self.watched.try_with_value(|w| w.root.clone())?;
        let watched = self.watched;
        let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
            // Collect first: a callback may mount rows whose lists observe more blocks.
            let calls: Vec<(OnChange, bool, f64)> = entries
                .iter()
                .filter_map(|e| e.dyn_into::<web_sys::IntersectionObserverEntry>().ok())
                .filter(|e| e.is_intersecting() == near)
                .filter_map(|e| {
                    let target = e.target();
                    let id: usize = target.get_attribute("data-utp-block")?.parse().ok()?;
                    // The element still watched under that number: a report queued before
                    // an element was let go must not reach the one that took its number.
                    let f = watched.try_with_value(|w| {
                        let b = w.blocks.get(id)?.as_ref().filter(|b| b.el == target)?;
                        if near {
                            b.near_at.set(e.time());
                        } else if b.near_at.get() > e.time() {
                            return None;
                        }
                        Some(b.on_change.clone())
                    })??;
                    Some((f, e.is_intersecting(), e.bounding_client_rect().height()))
                })
                .collect();
            let changed = !calls.is_empty();
            for (f, near, height) in calls {
                f(near, height);
            }
            let after = watched.try_with_value(|w| w.after.clone().map(|a| (a, w.root.clone())));
            if let (true, Some((after, root))) = (changed, after.flatten()) {
                after(&root);
            }
        });
        let init = web_sys::IntersectionObserverInit::new();
        init.set_root(Some(&root));
        init.set_root_margin(margin);
        let observer = web_sys::IntersectionObserver::new_with_options(
            callback.as_ref().unchecked_ref(),
            &init,
        )
        .ok()?;
        Some(Observer {
            observer,
            _callback: callback,
        })
    }

    /// Calls `f` with the scroller whenever blocks came near it or went (the tree stays at its
    /// bottom through that while following).
    pub fn after_change(&self, f: After) {
        self.watched.update_value(|w| w.after = Some(f));
    }

    /// Calls `on_change(near, height)` whenever `el` comes near the viewport or leaves it,
    /// until the current owner is disposed.
    fn watch(&self, el: &Element, on_change: OnChange) {
        if self.watched.with_value(|w| w.observers.is_none()) {
            let (Some(near), Some(far)) = (
                self.make_observer(NEAR, true),
                self.make_observer(FAR, false),
            ) else {
                return;
            };
            self.watched
                .update_value(|w| w.observers = Some((near, far)));
        }
        let id = self.watched.try_update_value(|w| {
            let id = w.free.pop().unwrap_or(w.blocks.len() as u32);
            if id as usize == w.blocks.len() {
                w.blocks.push(None);
            }
            dom::set(el, "data-utp-block", &id.to_string());
            if let Some((near, far)) = &w.observers {
                near.observer.observe(el);
                far.observer.observe(el);
            }
            w.blocks[id as usize] = Some(Watch {
                el: el.clone(),
                on_change,
                near_at: std::cell::Cell::new(0.0),
            });
            id
        });
        let viewport = *self;
        on_cleanup(move || {
            if let Some(id) = id {
                viewport.unobserve(id);
            }
        });
    }

    fn unobserve(&self, id: u32) {
        self.watched.try_update_value(|w| {
            let Some(b) = w.blocks.get_mut(id as usize).and_then(Option::take) else {
                return;
            };
            w.free.push(id);
            if let Some((near, far)) = &w.observers {
                near.observer.unobserve(&b.el);
                far.observer.unobserve(&b.el);
            }
        });
    }

    /// Stops observing; called when the tree unmounts.
    pub fn disconnect(&self) {
        self.watched.try_update_value(|w| {
            if let Some((near, far)) = w.observers.take() {
                near.observer.disconnect();
                far.observer.disconnect();
            }
            w.blocks.clear();
            w.free.clear();
        });
    }
}

/// What a list's groups and blocks share.
struct List {
    items: Memo<Vec<u64>>,
    row: Rc<dyn Fn(u64) -> Element>,
    viewport: Option<Viewport>,
    estimate: RefCell<HeightEstimate>,
    /// Blocks' last measured heights in whole pixels (as a placeholder's style takes them),
    /// kept while their group is far (and they do not exist). Keyed and valued in `u64`, as
    /// the panel's other maps of numbers are: each type of map is its own code in the wasm.
    heights: RefCell<HashMap<u64, u64>>,
}

/// Appends to `parent` a list of rows of which only the blocks near the viewport are mounted
/// (all of them without a viewport). Rows are keyed by numbers (`TraceId::as_u64`, ...), not
/// by a type per list: every list shares this code (each instantiation of it, and of its memo,
/// cost the wasm about 1.5 KB of gzip).
pub fn virtual_list(
    parent: &Node,
    items: Memo<Vec<u64>>,
    viewport: Option<Viewport>,
    row: Rc<dyn Fn(u64) -> Element>,
) {
    let list = Rc::new(List {
        items,
        row,
        viewport,
        estimate: RefCell::new(HeightEstimate::new(FALLBACK_ROW_PX)),
        heights: RefCell::default(),
    });
    let blocks = Memo::new(move |_| items.with(|v| block_count(v.len())));
    // Groups only ever grow or shrink at the end.
    let anchor: Node = dom::document().create_comment("").into();
    let _ = parent.append_child(&anchor);
    let owner = Owner::current().unwrap_or_default();
    let mut groups: Vec<Mounted> = Vec::new();
    dom::effect(move || {
        let n = group_count(blocks.get());
        while groups.len() > n {
            if let Some(g) = groups.pop() {
                g.remove();
            }
        }
        while groups.len() < n {
            let index = groups.len();
            let list = list.clone();
            let g = Mounted::new(&owner, &|| group(&list, blocks, index));
            if let Some(p) = anchor.parent_node() {
                let _ = p.insert_before(&g.el, Some(&anchor));
            }
            groups.push(g);
        }
    });
}

/// One group of [`crate::windowing::GROUP`] blocks: near the viewport, its blocks (each
/// mounted or not by its own distance); away from it, one empty element as tall as the group
/// was. Only groups are always watched, and a far group is one element, not one per block.
fn group(list: &Rc<List>, blocks: Memo<usize>, index: usize) -> Element {
    let el = dom::el("div", "utp-group");
    let items = list.items;
    let rows_now = move || items.with_untracked(|v| group_rows(index, v.len()).len());
    // `None` while near.
    let far = RwSignal::new(
        (list.viewport.is_some() && !group_initially_near(index, blocks.get_untracked())).then(
            || Placeholder {
                height: list.estimate.borrow().height_of(rows_now()),
                rows: rows_now(),
            },
        ),
    );
    if let Some(viewport) = list.viewport {
        let list = list.clone();
        viewport.watch(
            &el,
            Rc::new(move |is_near, height| {
                let is_far = far.get_untracked().is_some();
                if is_near && is_far {
                    far.set(None);
                } else if !is_near && !is_far {
                    let rows = rows_now();
                    let height = list.estimate.borrow().measured_or_expected(rows, height);
                    far.set(Some(Placeholder { height, rows }));
                }
            }),
        );
    }
    let owner = Owner::current().unwrap_or_default();
    let mut mounted: Vec<Mounted> = Vec::new();
    let node = el.clone();
    let list = list.clone();
    dom::effect(move || {
        let n = blocks.get();
        match far.get() {
            Some(Placeholder { height, rows }) => {
                for b in mounted.drain(..) {
                    b.remove();
                }
                // A far group still grows with rows added to it since it was measured.
                let added = rows_now().saturating_sub(rows);
                let h = height + list.estimate.borrow().height_of(added);
                dom::set(&node, "style", &format!("height:{}px", h.round() as u64));
            }
            None => {
                let _ = node.remove_attribute("style");
                let range = group_blocks(index, n);
                while mounted.len() > range.len() {
                    if let Some(b) = mounted.pop() {
                        b.remove();
                    }
                }
                while mounted.len() < range.len() {
                    let b = range.start + mounted.len();
                    let m = Mounted::new(&owner, &|| block(&list, b));
                    let _ = node.append_child(&m.el);
                    mounted.push(m);
                }
            }
        }
    });
    el
}

/// One block of [`crate::windowing::BLOCK`] rows: mounted near the viewport, otherwise an
/// empty element as tall as it last was (remembered in `heights` while its group is far).
fn block(list: &Rc<List>, index: usize) -> Element {
    let el = dom::el("div", "utp-block");
    let items = list.items;
    let rows_now = move || items.with_untracked(|v| block_rows(index, v.len()).len());
    let count = items.with_untracked(|v| block_count(v.len()));
    // `None` while mounted (the type of a group's `far`: each signal type costs the wasm its
    // own code).
    let placeholder = RwSignal::new(
        (list.viewport.is_some() && !initially_mounted(index, count)).then(|| {
            let known = list
                .heights
                .borrow()
                .get(&(index as u64))
                .map(|&h| h as f64);
            Placeholder {
                height: known.unwrap_or_else(|| list.estimate.borrow().height_of(rows_now())),
                rows: rows_now(),
            }
        }),
    );
    if let Some(viewport) = list.viewport {
        let list = list.clone();
        viewport.watch(
            &el,
            Rc::new(move |is_near, height| {
                let mounted = placeholder.get_untracked().is_none();
                if is_near && !mounted {
                    placeholder.set(None);
                } else if !is_near && mounted {
                    let rows = rows_now();
                    list.estimate.borrow_mut().record(rows, height);
                    if height > 0.0 {
                        list.heights
                            .borrow_mut()
                            .insert(index as u64, height.round() as u64);
                    }
                    let height = list.estimate.borrow().measured_or_expected(rows, height);
                    placeholder.set(Some(Placeholder { height, rows }));
                }
            }),
        );
    }
    let owner = Owner::current().unwrap_or_default();
    let mut rows: Option<Owner> = None;
    let node = el.clone();
    let row = list.row.clone();
    dom::effect(move || match placeholder.get() {
        Some(Placeholder { height, .. }) => {
            if let Some(o) = rows.take() {
                o.cleanup();
                node.set_text_content(None);
            }
            dom::set(
                &node,
                "style",
                &format!("height:{}px", height.round() as u64),
            );
        }
        None => {
            let _ = node.remove_attribute("style");
            if rows.is_none() {
                let inner = owner.child();
                let row = row.clone();
                let parent: Node = node.clone().into();
                inner.with(|| {
                    dom::keyed(
                        &parent,
                        move || items.with(|v| v[block_rows(index, v.len())].to_vec()),
                        move |k| row(k),
                    )
                });
                rows = Some(inner);
            }
        }
    });
    el
}
