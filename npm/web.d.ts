// `user-trace-panel/web`: the same API for a plain `<script type="module">` (wasm-bindgen's
// `--target web`): call the default export once before `mount`.
export * from "./index.js";

/** What to load the WebAssembly from: by default `user_trace_panel_bg.wasm` beside the module. */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

/**
 * Loads the panel's WebAssembly; resolves when `mount` and `defineElement` can be called.
 * `module_or_path` overrides where it is fetched from (a bundler's URL for
 * `user-trace-panel/web/user_trace_panel_bg.wasm`, say).
 */
export default function init(
  options?: { module_or_path: InitInput | Promise<InitInput> },
): Promise<unknown>;

/** Instantiates the panel synchronously from bytes or a compiled module. */
export function initSync(options: { module: BufferSource | WebAssembly.Module }): unknown;
