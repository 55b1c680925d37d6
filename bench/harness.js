// The measuring half of the browser benchmark (`cargo xtask bench`), loaded first by every
// page under test: the panel and the hand-written baselines are measured the same way.
//
// Frame work: each animation frame's main-thread work is the time from the first rAF callback
// of the frame (ours, registered a frame ahead, so it runs first) to a message posted from it,
// which runs after the frame's style, layout and paint; plus the WebSocket message handlers,
// IntersectionObserver, timer and idle callbacks that ran since the previous frame (tasks
// between frames).
// Script time (those handlers and the page's rAF callbacks) is kept apart, so that the slowest
// frames can be split into script and rendering. Long tasks come from PerformanceObserver.
(() => {
  const now = () => performance.now();
  const state = { running: false, frames: [], between: 0, script: 0, longTasks: 0, longTaskMs: 0, handled: [] };
  // A callback's time includes the microtasks it queued (Leptos runs effects there, in one
  // drain queued during the callback): the time is taken in a microtask queued after them.
  const after = (t0, f) => queueMicrotask(() => f(now() - t0));
  const timed = (f, self, args) => {
    const t0 = now();
    try { return f.apply(self, args); } finally { after(t0, (t) => { state.between += t; state.script += t; }); }
  };

  // Time every WebSocket message handler, whoever installs it (the wasm panel or a baseline).
  const sockets = new Set();
  const wrap = (f) => function (ev) {
    sockets.add(this);
    const t0 = now();
    try { return timed(f, this, [ev]); } finally {
      // The first handlers' start and end, for a first paint's breakdown (B4).
      if (state.handled.length < 8) state.handled.push([t0, now()]);
    }
  };
  const proto = WebSocket.prototype;
  const onmessage = Object.getOwnPropertyDescriptor(proto, "onmessage");
  Object.defineProperty(proto, "onmessage", {
    configurable: true,
    get() { return onmessage.get.call(this); },
    set(f) { onmessage.set.call(this, f ? wrap(f) : f); },
  });
  const add = proto.addEventListener;
  proto.addEventListener = function (type, f, opts) {
    return add.call(this, type, type === "message" && typeof f === "function" ? wrap(f) : f, opts);
  };

  // IntersectionObserver callbacks (the panel mounts and unmounts rows in them) run as tasks
  // between frames, like WebSocket handlers.
  const IO = window.IntersectionObserver;
  if (IO) {
    window.IntersectionObserver = class extends IO {
      constructor(f, opts) { super(function (...args) { return timed(f, this, args); }, opts); }
    };
  }
  // Timers and idle callbacks are tasks between frames too (the panel defers work to them).
  const setTimeoutOrig = window.setTimeout.bind(window);
  window.setTimeout = (f, ms, ...args) => typeof f === "function"
    ? setTimeoutOrig(function () { return timed(f, this, args); }, ms)
    : setTimeoutOrig(f, ms, ...args);
  if (window.requestIdleCallback) {
    const ric = window.requestIdleCallback.bind(window);
    window.requestIdleCallback = (f, opts) => ric(function (d) { return timed(f, this, [d]); }, opts);
  }
  // The page's rAF callbacks run inside the frame: only their script time is added up.
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (f) => raf((t) => {
    const t0 = now();
    try { return f(t); } finally { after(t0, (dt) => { state.script += dt; }); }
  });

  const channel = new MessageChannel();
  let frameStart = 0;
  channel.port1.onmessage = () => {
    if (state.running) state.frames.push([now() - frameStart + state.between, state.script]);
    state.between = 0;
    state.script = 0;
  };
  const tick = () => {
    frameStart = now();
    raf(tick);
    channel.port2.postMessage(0);
  };
  raf(tick);

  try {
    new PerformanceObserver((list) => {
      if (!state.running) return;
      for (const e of list.getEntries()) { state.longTasks += 1; state.longTaskMs += e.duration; }
    }).observe({ entryTypes: ["longtask"] });
  } catch (_) { /* no long task API: reported as 0 */ }

  const pct = (sorted, p) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0;
  window.bench = {
    start() { state.running = true; state.frames = []; state.longTasks = 0; state.longTaskMs = 0; },
    stop() {
      state.running = false;
      const all = [...state.frames].sort((a, b) => a[0] - b[0]);
      const f = all.map((x) => x[0]);
      // The slowest 5% of frames, split: script (handlers, rAF callbacks) and the rest
      // (style, layout, paint).
      const slow = all.slice(Math.floor(0.95 * all.length));
      const mean = (xs) => xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
      const slowScript = mean(slow.map((x) => x[1]));
      const slowTotal = mean(slow.map((x) => x[0]));
      return {
        frames: f.length,
        p50: pct(f, 0.5), p95: pct(f, 0.95), max: f.length ? f[f.length - 1] : 0,
        longTasks: state.longTasks, longTaskMs: state.longTaskMs,
        slowScript, slowRender: slowTotal - slowScript,
      };
    },
    // Resolves when `f()` is truthy, checked every frame; rejects after `ms`.
    until(f, ms = 30000) {
      const t0 = now();
      return new Promise((resolve, reject) => {
        const check = () => {
          let v;
          try { v = f(); } catch (_) { v = false; }
          if (v) resolve(now() - t0);
          else if (now() - t0 > ms) reject(new Error("timed out"));
          else raf(check);
        };
        check();
      });
    },
    // Scrolls `scroller` to its top and waits there. Once more after a pause: a panel that
    // follows its newest rows pins itself to the bottom again before it hears of the first
    // scroll (seen in B8: its first scroll to the top was undone, and its scrolling started
    // at the bottom, where it moved nowhere).
    async toTop(scroller) {
      for (let i = 0; i < 2; i++) {
        scroller.scrollTop = 0;
        await new Promise((r) => setTimeout(r, 200));
      }
      if (scroller.scrollTop !== 0) throw new Error(`not at the top: ${scroller.scrollTop}`);
    },
    // The rows `scrollStatic` copies, taken now (B8 takes them at the top, where it starts
    // scrolling, before find moves the tree to its end).
    keepRows(row) {
      this.mountedRows ??= [...document.querySelectorAll(`.utp-panel ${row}`)].map((r) => r.cloneNode(true));
      return this.mountedRows;
    },
    // B3's and B8's baseline: what the browser alone costs to scroll the panel's rows on this machine.
    // The span rows the panel has mounted are copied (as nodes, no script, no virtualization)
    // into a copy of the panel, `rows` of them, which replaces the panel (so call it last; it
    // may be called again, with the same rows); then scrolled `px` per frame for `frames`
    // frames, as B3 scrolls. With `lazy`, every 10 rows are a block with
    // `content-visibility: auto`, as a static page that knows it is long would do.
    // `row` selects the panel's mounted rows to copy (B3: a trace's span rows; B8: the root
    // traces), `list` the element of the copy they fill.
    async scrollStatic({ rows, frames, px, lazy, row = ".utp-block > .utp-span", list: into = ".utp-spans" }) {
      const panel = document.querySelector(".utp-panel");
      // Kept from the first call (or an earlier `keepRows`): later calls find the copy.
      const mounted = this.keepRows(row);
      if (!mounted.length) throw new Error(`no rows (${row}) to copy`);
      const copy = panel.cloneNode(true);
      const list = copy.querySelector(into);
      list.replaceChildren();
      for (let i = 0; i < rows; i += 10) {
        let block = list;
        if (lazy) {
          block = list.appendChild(document.createElement("div"));
          block.style.contentVisibility = "auto";
          block.style.containIntrinsicSize = "auto 500px";
        }
        for (let j = i; j < i + 10; j++) block.appendChild(mounted[j % mounted.length].cloneNode(true));
      }
      panel.replaceWith(copy);
      window.panel?.dispose?.();
      const scroller = copy.querySelector(".utp-tree");
      await this.toTop(scroller);
      this.start();
      for (let i = 0; i < frames; i++) {
        scroller.scrollTop += px;
        await new Promise((r) => requestAnimationFrame(r));
      }
      const s = this.stop();
      if (scroller.scrollTop < px * frames * 0.9) throw new Error(`the copy scrolled only ${scroller.scrollTop} px`);
      return { ...s, rowPx: scroller.scrollHeight / rows };
    },
    // B9's baseline: the DOM changes the panel makes for B9's streams, made by plain script
    // with nothing else running. The panel is replaced by a copy of itself (so call it last);
    // the streaming texts it had mounted (`.utp-text` in a block) start again from `start`,
    // and every frame their share of `tokens` (the tokens a frame to all `streams`) from
    // `words` goes to them in turn, appended to each
    // text's last block (a new block past `chunk` UTF-16 units, as src/text_chunks.rs cuts
    // them, without fitting lines). As the panel does (src/views/text_span.rs): a text takes
    // the class of a long one at `long`; one given a token goes to its end if it is rendered
    // (a full one off screen is not: `content-visibility`), and is full once it scrolls; the
    // tree goes to its bottom.
    async streamStatic({ frames, tokens, streams, words, start, chunk = 4096, long = 2048 }) {
      const panel = document.querySelector(".utp-panel");
      const copy = panel.cloneNode(true);
      const texts = [...copy.querySelectorAll(".utp-block .utp-text")];
      if (!texts.length) throw new Error("no streaming texts to copy");
      for (const t of texts) {
        t.classList.remove("utp-long", "utp-full");
        const block = document.createElement("span");
        block.className = "utp-chunk";
        block.textContent = start;
        t.replaceChildren(block);
      }
      panel.replaceWith(copy);
      window.panel?.dispose?.();
      const tree = copy.querySelector(".utp-tree");
      const lengths = texts.map(() => start.length);
      const perFrame = Math.round((tokens * texts.length) / streams);
      await new Promise((r) => setTimeout(r, 200));
      this.start();
      let k = 0;
      for (let f = 0; f < frames; f++) {
        const touched = new Set();
        for (let i = 0; i < perFrame; i++, k++) {
          const n = k % texts.length;
          const t = texts[n];
          let last = t.lastElementChild.firstChild;
          if (last.length >= chunk) {
            const block = t.appendChild(document.createElement("span"));
            block.className = "utp-chunk";
            last = block.appendChild(document.createTextNode(""));
          }
          const word = words[Math.floor(k / texts.length) % words.length];
          last.appendData(word);
          lengths[n] += word.length;
          if (lengths[n] >= long) t.classList.add("utp-long");
          touched.add(t);
        }
        for (const t of touched) {
          if (!t.classList.contains("utp-long")) continue;
          if (!t.firstElementChild.checkVisibility({ contentVisibilityAuto: true })) continue;
          t.scrollTop = 1e9;
          if (t.scrollTop > 0) t.classList.add("utp-full");
        }
        tree.scrollTop = tree.scrollHeight;
        await new Promise((r) => requestAnimationFrame(r));
      }
      const s = this.stop();
      return { ...s, texts: texts.length, longest: Math.max(...lengths) };
    },
    // Every WebSocket that received a message: B5 cuts them as a network failure would.
    sockets,
    handled: state.handled,
    domNodes(root = document.body) { return root.getElementsByTagName("*").length; },
  };
})();
