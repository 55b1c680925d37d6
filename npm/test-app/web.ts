// The package's `--target web` output, as a plain module would use it; the wasm file's URL
// comes from the bundler (esbuild's file loader).
import init, { mount, defineElement } from "user-trace-panel/web";
import wasm from "user-trace-panel/web/user_trace_panel_bg.wasm";

// esbuild's file loader gives a URL relative to the bundle.
await init({ module_or_path: new URL(wasm, import.meta.url) });
const panel = mount(document.getElementById("panel") as HTMLElement, { theme: "light" });
panel.push([{ id: "w1", process: "web@browser", ts: 1, op: "trace_start", trace: "w", name: "Web target" }]);

// The custom element: `document.createElement` knows its type (HTMLElementTagNameMap).
defineElement();
const element = document.createElement("user-trace-panel");
element.setAttribute("theme", "dark");
document.body.append(element);
element.push([{ id: "c1", process: "web@browser", ts: 1, op: "trace_start", trace: "el", name: "From the element" }]);

// The host's links: what the reader activates, the sources with errors, reveal.
panel.onActivate(({ trace, span, source }) => console.log(trace, span ?? "", source ?? ""));
panel.onErrorSources((sources: string[]) => console.log(sources.length));
const shown: boolean = panel.reveal("node-1") || element.reveal("node-1");
element.addEventListener("user-trace-activate", (e) => console.log(e.detail.trace, shown));
element.addEventListener("user-trace-error-sources", (e) => console.log(e.detail.join(",")));

Object.assign(window, { panel, element });
