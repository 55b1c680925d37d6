// The measuring half of the browser benchmark (`cargo xtask bench`), loaded first by every
// page under test: the panel and the hand-written baselines are measured the same way.
//
// Frame work: each animation frame's main-thread work is the time from the first rAF callback
// of the frame (ours, registered a frame ahead, so it runs first) to a message posted from it,
// which runs after the frame's style, layout and paint; plus the WebSocket message handlers
// that ran since the previous frame. Long tasks come from PerformanceObserver.
(() => {
  const now = () => performance.now();
  const state = { running: false, frames: [], between: 0, longTasks: 0, longTaskMs: 0, handled: [] };

  // Time every WebSocket message handler, whoever installs it (the wasm panel or a baseline).
  const sockets = new Set();
  const wrap = (f) => function (ev) {
    sockets.add(this);
    const t0 = now();
    try { return f.call(this, ev); } finally {
      state.between += now() - t0;
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

  const channel = new MessageChannel();
  let frameStart = 0;
  channel.port1.onmessage = () => {
    if (state.running) state.frames.push(now() - frameStart + state.between);
    state.between = 0;
  };
  const tick = () => {
    frameStart = now();
    requestAnimationFrame(tick);
    channel.port2.postMessage(0);
  };
  requestAnimationFrame(tick);

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
      const f = [...state.frames].sort((a, b) => a - b);
      return {
        frames: f.length,
        p50: pct(f, 0.5), p95: pct(f, 0.95), max: f.length ? f[f.length - 1] : 0,
        longTasks: state.longTasks, longTaskMs: state.longTaskMs,
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
          else requestAnimationFrame(check);
        };
        check();
      });
    },
    // Every WebSocket that received a message: B5 cuts them as a network failure would.
    sockets,
    handled: state.handled,
    domNodes(root = document.body) { return root.getElementsByTagName("*").length; },
  };
})();
