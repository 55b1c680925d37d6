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

Object.assign(window, { panel, element });
