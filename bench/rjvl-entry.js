// Peer for B4: react-json-view-lite (npm) showing the same 10 MB document, top level expanded.
// Bundled by `cargo xtask bench` with esbuild into rjvl-bundle.js.
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { JsonView, defaultStyles } from "react-json-view-lite";

const json = await (await fetch("data/b4.json")).json();
createRoot(document.getElementById("view")).render(
  createElement(JsonView, { data: json, style: defaultStyles, shouldExpandNode: (level) => level < 1 }),
);
window.ready = true;
