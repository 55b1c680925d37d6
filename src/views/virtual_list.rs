//! A virtualized list: only the blocks of rows near the viewport are in the DOM (see
//! [`crate::windowing`] for the layout rules). One `IntersectionObserver` on the tree's scroller
//! ([`Viewport`]) tells every block of every list, at any nesting depth, when it comes near.

use std::collections::HashMap;
use std::hash::Hash;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::windowing::{
    block_count, block_rows, group_blocks, group_count, group_initially_near, group_rows,
    initially_mounted, HeightEstimate,
};

/// How far beyond the visible area blocks stay mounted: one viewport above and below, so that
/// scrolling shows rows, not blank space.
const MARGIN: &str = "100% 0px";
/// A row's height before any was measured (a span's header and one line).
const FALLBACK_ROW_PX: f64 = 48.0;

type OnChange = Rc<dyn Fn(bool, f64)>;
/// The observer and the callback it calls, which must live as long as it.
type Observer = (
    web_sys::IntersectionObserver,
    Closure<dyn FnMut(js_sys::Array)>,
);

#[derive(Default)]
struct Watched {
    observer: Option<Observer>,
    blocks: HashMap<u32, (web_sys::Element, OnChange)>,
    next: u32,
}

/// The scroller that lists virtualize against; provided as context by the tree.
#[derive(Clone, Copy)]
pub struct Viewport {
    root: NodeRef<leptos::html::Div>,
    watched: StoredValue<Watched, LocalStorage>,
}

impl Viewport {
    pub fn new(root: NodeRef<leptos::html::Div>) -> Self {
        Viewport {
            root,
            watched: StoredValue::new_local(Watched::default()),
        }
    }

    fn make_observer(&self) -> Option<Observer> {
        let root: web_sys::Element = self.root.get_untracked()?.into();
        let watched = self.watched;
        let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
            // Collect first: a callback may mount rows whose lists observe more blocks.
            let calls: Vec<(OnChange, bool, f64)> = entries
                .iter()
                .filter_map(|e| e.dyn_into::<web_sys::IntersectionObserverEntry>().ok())
                .filter_map(|e| {
                    let id: u32 = e.target().get_attribute("data-utp-block")?.parse().ok()?;
                    let f =
                        watched.try_with_value(|w| w.blocks.get(&id).map(|(_, f)| f.clone()))??;
                    Some((f, e.is_intersecting(), e.bounding_client_rect().height()))
                })
                .collect();
            for (f, near, height) in calls {
                f(near, height);
            }
        });
        let init = web_sys::IntersectionObserverInit::new();
        init.set_root(Some(&root));
        init.set_root_margin(MARGIN);
        let observer = web_sys::IntersectionObserver::new_with_options(
            callback.as_ref().unchecked_ref(),
            &init,
        )
        .ok()?;
        Some((observer, callback))
    }

    /// Calls `on_change(near, height)` whenever `el` comes near the viewport or leaves it.
    fn observe(&self, el: web_sys::Element, on_change: OnChange) -> Option<u32> {
        if self.watched.with_value(|w| w.observer.is_none()) {
            let made = self.make_observer()?;
            self.watched.update_value(|w| w.observer = Some(made));
        }
        self.watched.try_update_value(|w| {
            let id = w.next;
            w.next += 1;
            let _ = el.set_attribute("data-utp-block", &id.to_string());
            if let Some((o, _)) = &w.observer {
                o.observe(&el);
            }
            w.blocks.insert(id, (el, on_change));
            id
        })
    }

    fn unobserve(&self, id: u32) {
        self.watched.try_update_value(|w| {
            if let (Some((el, _)), Some((o, _))) = (w.blocks.remove(&id), &w.observer) {
                o.unobserve(&el);
            }
        });
    }

    /// Stops observing; called when the tree unmounts.
    pub fn disconnect(&self) {
        self.watched.try_update_value(|w| {
            if let Some((o, _)) = w.observer.take() {
                o.disconnect();
            }
            w.blocks.clear();
        });
    }
}

/// A list of rows of which only the blocks near the viewport are mounted. Without a
/// [`Viewport`] in context every block is mounted.
#[component]
pub fn VirtualList<T, F, V>(
    /// The rows' keys, in order.
    #[prop(into)]
    items: Signal<Vec<T>>,
    /// Renders one row.
    row: F,
) -> impl IntoView
where
    T: Clone + Eq + Hash + Send + Sync + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let viewport = use_context::<Viewport>();
    let estimate = StoredValue::new(HeightEstimate::new(FALLBACK_ROW_PX));
    let blocks = Memo::new(move |_| items.with(|v| block_count(v.len())));
    let groups = Memo::new(move |_| group_count(blocks.get()));
    // Blocks' last measured heights, kept while their group is far (and they do not exist).
    let heights = StoredValue::new(HashMap::new());
    view! {
        <For
            each=move || 0..groups.get()
            key=|g| *g
            children=move |index| {
                let row = row.clone();
                view! { <Group items blocks index row viewport estimate heights /> }.into_any()
            }
        />
    }
    .into_any()
}

/// One group of [`crate::windowing::GROUP`] blocks: near the viewport, its blocks (each
/// mounted or not by its own distance); away from it, one empty element as tall as the group
/// was. Only groups are always watched, and a far group is one element, not one per block.
#[component]
fn Group<T, F, V>(
    items: Signal<Vec<T>>,
    blocks: Memo<usize>,
    index: usize,
    row: F,
    viewport: Option<Viewport>,
    estimate: StoredValue<HeightEstimate>,
    heights: StoredValue<HashMap<usize, f64>>,
) -> impl IntoView
where
    T: Clone + Eq + Hash + Send + Sync + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let rows_now = move || items.with_untracked(|v| group_rows(index, v.len()).len());
    // `None` while near; while far, how tall it was and how many rows it had then.
    let far = RwSignal::new(
        (viewport.is_some() && !group_initially_near(index, blocks.get_untracked()))
            .then(|| (estimate.with_value(|e| e.height_of(rows_now())), rows_now())),
    );
    let node = NodeRef::<leptos::html::Div>::new();
    if let Some(viewport) = viewport {
        watch(viewport, node, move |is_near, height| {
            let is_far = far.get_untracked().is_some();
            if is_near && is_far {
                far.set(None);
            } else if !is_near && !is_far {
                let rows = rows_now();
                let h = estimate.with_value(|e| e.measured_or_expected(rows, height));
                far.set(Some((h, rows)));
            }
        });
    }
    // A far group still grows with rows added to it since it was measured.
    let style = move || {
        blocks.track();
        far.get().map(|(h, rows)| {
            let added = rows_now().saturating_sub(rows);
            let h = h + estimate.with_value(|e| e.height_of(added));
            format!("height:{}px", h.round() as u64)
        })
    };
    view! {
        <div class="utp-group" node_ref=node style=style>
            <Show when=move || far.get().is_none()>
                <For
                    each=move || group_blocks(index, blocks.get())
                    key=|b| *b
                    children={
                        let row = row.clone();
                        move |b| {
                            let row = row.clone();
                            view! { <Block items index=b row viewport estimate heights /> }
                                .into_any()
                        }
                    }
                />
            </Show>
        </div>
    }
    .into_any()
}

/// One block of [`crate::windowing::BLOCK`] rows: mounted near the viewport, otherwise an
/// empty element as tall as it last was (remembered in `heights` while its group is far).
#[component]
fn Block<T, F, V>(
    items: Signal<Vec<T>>,
    index: usize,
    row: F,
    viewport: Option<Viewport>,
    estimate: StoredValue<HeightEstimate>,
    heights: StoredValue<HashMap<usize, f64>>,
) -> impl IntoView
where
    T: Clone + Eq + Hash + Send + Sync + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let rows_now = move || items.with_untracked(|v| block_rows(index, v.len()).len());
    let count = items.with_untracked(|v| block_count(v.len()));
    // `None` while mounted; the placeholder's height while not.
    let placeholder = RwSignal::new(
        (viewport.is_some() && !initially_mounted(index, count)).then(|| {
            heights
                .with_value(|h| h.get(&index).copied())
                .unwrap_or_else(|| estimate.with_value(|e| e.height_of(rows_now())))
        }),
    );
    let node = NodeRef::<leptos::html::Div>::new();
    if let Some(viewport) = viewport {
        watch(viewport, node, move |is_near, height| {
            let mounted = placeholder.get_untracked().is_none();
            if is_near && !mounted {
                placeholder.set(None);
            } else if !is_near && mounted {
                let rows = rows_now();
                estimate.update_value(|e| e.record(rows, height));
                if height > 0.0 {
                    heights.update_value(|m| {
                        m.insert(index, height);
                    });
                }
                placeholder.set(Some(
                    estimate.with_value(|e| e.measured_or_expected(rows, height)),
                ));
            }
        });
    }
    let slice = move || items.with(|v| v[block_rows(index, v.len())].to_vec());
    // Rows are type-erased: nested generic view types make compile times explode.
    let row = move |t: T| row(t).into_any();
    view! {
        <div
            class="utp-block"
            node_ref=node
            style=move || placeholder.get().map(|h| format!("height:{}px", h.round() as u64))
        >
            <Show when=move || placeholder.get().is_none()>
                <For each=slice key=|t| t.clone() children=row.clone() />
            </Show>
        </div>
    }
    .into_any()
}

/// Has the viewport call `on_change(near, height)` for `node` once it is in the DOM, until the
/// component is disposed.
fn watch(
    viewport: Viewport,
    node: NodeRef<leptos::html::Div>,
    on_change: impl Fn(bool, f64) + 'static,
) {
    let on_change: OnChange = Rc::new(on_change);
    let watch_id = StoredValue::new(None::<u32>);
    Effect::new(move |_| {
        let Some(el) = node.get() else { return };
        if watch_id.get_value().is_none() {
            watch_id.set_value(viewport.observe(el.into(), on_change.clone()));
        }
    });
    on_cleanup(move || {
        if let Some(id) = watch_id.get_value() {
            viewport.unobserve(id);
        }
    });
}
