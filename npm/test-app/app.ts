// An app as an editor developer writes it: `npm install user-trace-panel`, import, mount,
// push events. Bundled with esbuild (build.mjs) from the package's `--target bundler` output,
// styled by the package's stylesheet (app.css) instead of the one the panel adds itself.
import { mount, type PanelHandle, type TraceEvent } from "user-trace-panel";
import "user-trace-panel/panel.css";

const host = document.getElementById("panel") as HTMLElement;
// The stylesheet comes from the package's panel.css, bundled into app.css.
const panel: PanelHandle = mount(host, { theme: "dark", styles: false });

const p = "test-app@browser";
const events: TraceEvent[] = [
  { id: "e1", process: p, ts: 1, op: "trace_start", trace: "run", name: "Bundled app" },
  { id: "e2", process: p, ts: 2, op: "span_create", trace: "run", span: "s1", kind: "text", content: "from npm" },
  { id: "e3", process: p, ts: 3, op: "span_create", trace: "run", span: "s2", kind: "items",
    content: [{ name: "tokens", value: 42 }] },
];
panel.push(events);
panel.push('{"id":"e4","process":"test-app@browser","ts":4,"op":"text_append","span":"s1","text":", typed"}');

Object.assign(window, { panel });
