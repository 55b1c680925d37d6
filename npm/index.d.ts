// Types of the `user-trace-panel` package: `mount`, its options, the handle, the events it
// shows (docs/PROTOCOL.md, "Events") and the `<user-trace-panel>` custom element.
// Written by hand over wasm-bindgen's generated declarations (`bundler/user_trace_panel.d.ts`),
// whose `options: any` and `events: any` they make precise; `cargo xtask test` type-checks an
// app against them with `tsc --noEmit`.

/** Options of {@link mount}; every field is optional. */
export interface MountOptions {
  /**
   * The panel endpoint of a runtime, e.g. `"ws://127.0.0.1:4700/v1/panel"`. Several URLs,
   * comma- or space-separated, are tried in turn when one fails. Without it the panel shows
   * only what the host pushes ({@link PanelHandle.push}).
   */
  url?: string;
  /** `"light"` or `"dark"`; the system's colour scheme when absent. */
  theme?: Theme;
  /**
   * `false` leaves styling to the host, which links the stylesheet
   * (`import "user-trace-panel/panel.css"`); by default the panel adds it to the page once.
   */
  styles?: boolean;
  /**
   * Approximate cap, in bytes, on the trace state the panel holds (256 MiB when absent): past
   * it the oldest finished traces are evicted and the status area counts them. A whole number
   * of at least 1048576 (1 MiB); anything else is refused with a notice in the status area
   * and the default kept.
   */
  maxBytes?: number;
}

export type Theme = "light" | "dark";

/**
 * Mounts a panel into `element` (it fills the element: give the element a height) and
 * returns its handle.
 */
export function mount(element: HTMLElement, options?: MountOptions): PanelHandle;

/**
 * Registers the custom element `<user-trace-panel src="ws://..." theme="dark">`: it mounts a
 * panel when added to the page, disposes it when removed, and reconnects when `src` changes.
 * Calling it again does nothing.
 */
export function defineElement(): void;

/**
 * A mounted panel. It stays, live, until {@link PanelHandle.dispose}, even if the page keeps
 * no reference to this handle.
 */
export class PanelHandle {
  private constructor();
  /**
   * Adds events: an array of event objects, a JSON array string, or JSON Lines text (a file
   * exported from the panel). Invalid events are reported in the panel's status area and
   * skipped; the others are applied.
   *
   * Objects go through `JSON.stringify`, so their numbers are JavaScript numbers (`1e400`
   * becomes `null`, `-0` becomes `0`, digits beyond a double's precision are lost): push JSON
   * text when numbers must be shown exactly as sent.
   */
  push(events: readonly TraceEvent[] | string): void;
  /** Drops everything shown. */
  clear(): void;
  /**
   * Calls `callback` each time the reader activates a trace or span (a click on it, or Enter):
   * the host's link from the panel to its program.
   */
  onActivate(callback: (activation: Activation) => void): void;
  /**
   * Calls `callback` with the sources that have errors, sorted: now, whenever the set grows,
   * and with `[]` after a clear (for badges on the host's nodes).
   */
  onErrorSources(callback: (sources: string[]) => void): void;
  /**
   * Shows the newest span of `source` (its traces expand, it is scrolled to and highlighted);
   * `false` if no span has that source.
   */
  reveal(source: string): boolean;
  /**
   * Unmounts the panel and closes its connection. Later calls do nothing. Removing the panel's
   * element from the page does not do this: the panel stays until `dispose()`.
   */
  dispose(): void;
  /** Frees the handle's memory (and unmounts the panel if `dispose` was not called). */
  free(): void;
}

/** What the reader activated ({@link PanelHandle.onActivate}): producer ids. */
export interface Activation {
  /** The trace's id. */
  trace: string;
  /** The span's id; `null` for a trace's header. */
  span: string | null;
  /** The nearest `source` (the host's name for the node that made it); `null` if none. */
  source: string | null;
}

// ---- Events (docs/PROTOCOL.md, "Events"; JSON Schema: event.schema.json) ----

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Fields every event has. */
export interface EventBase {
  /** Unique among this process's events; `(process, id)` identifies the event. */
  id: string;
  /** The producing process, shown as a badge, e.g. `"agent@host:4242"`. */
  process: string;
  /** When the producer made the event: microseconds since the Unix epoch. */
  ts: number;
}

export interface TraceStart extends EventBase {
  op: "trace_start";
  trace: string;
  /** The trace's label. */
  name: string;
  /** Nests the trace inside this span. */
  parent_span?: string;
}

/** A span's kind; any other string is shown as raw JSON (a kind from a newer producer). */
export type SpanKind = "text" | "markdown" | "json" | "items" | "error" | "messages" | (string & {});

export interface Item {
  name: string;
  value: Json;
}

export interface ToolCall {
  id?: string;
  name: string;
  arguments?: Json;
}

export type MessagePart = string | { type: "text"; text: string } | { [key: string]: Json };

export interface Message {
  /** `system`, `user`, `assistant`, `tool`, or any other role (shown in a neutral colour). */
  role: string;
  name?: string;
  content?: string | MessagePart[] | null;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}

export interface SpanCreate extends EventBase {
  op: "span_create";
  trace: string;
  span: string;
  kind: SpanKind;
  title?: string;
  /**
   * By kind: `text`, `markdown`: a string; `json`: any JSON; `items`: {@link Item}[];
   * `error`: `{ message, details? }` or a string; `messages`: {@link Message}[].
   */
  content?: Json | Item[] | Message[] | { message: string; details?: Json };
}

export interface TextAppend extends EventBase {
  op: "text_append";
  span: string;
  text: string;
}

export interface ContentReplace extends EventBase {
  op: "content_replace";
  span: string;
  content: Json;
}

export interface ItemsSet extends EventBase {
  op: "items_set" | "items_add";
  span: string;
  items: Item[];
}

export interface MessagesAdd extends EventBase {
  op: "messages_add";
  span: string;
  messages: Message[];
}

export interface MessageAppend extends EventBase {
  op: "message_append";
  span: string;
  text: string;
}

export interface JsonAppend extends EventBase {
  op: "json_append";
  span: string;
  /** A piece of one JSON document; it may end anywhere. */
  text: string;
  /** The document is complete. */
  done?: boolean;
}

export interface SpanEnd extends EventBase {
  op: "span_end";
  span: string;
  status?: "ok" | "error";
  message?: string;
}

export interface TraceEnd extends EventBase {
  op: "trace_end";
  trace: string;
  status?: "ok" | "error";
  message?: string;
}

export interface Clear extends EventBase {
  op: "clear";
}

/** One trace event, as a producer sends it. */
export type TraceEvent =
  | TraceStart
  | SpanCreate
  | TextAppend
  | ContentReplace
  | ItemsSet
  | MessagesAdd
  | MessageAppend
  | JsonAppend
  | SpanEnd
  | TraceEnd
  | Clear;

// ---- The custom element ----

/** Attributes of `<user-trace-panel>`. */
export interface UserTracePanelAttributes {
  /** A runtime's panel endpoint (several, comma- or space-separated); changing it reconnects. */
  src?: string;
  /** `"light"` or `"dark"`; the system's colour scheme when absent. */
  theme?: Theme;
  /** As {@link MountOptions.maxBytes}, as a number in text: `max-bytes="1073741824"`. */
  "max-bytes"?: string;
}

/** `<user-trace-panel>` once {@link defineElement} has run. */
export interface UserTracePanelElement extends HTMLElement {
  /** The mounted panel; absent while the element is not in the page. */
  readonly handle?: PanelHandle | null;
  /** As {@link PanelHandle.push}. */
  push(events: readonly TraceEvent[] | string): void;
  /** As {@link PanelHandle.clear}. */
  clear(): void;
  /** As {@link PanelHandle.reveal}; `false` while the element is not in the page. */
  reveal(source: string): boolean;
}

/**
 * Events `<user-trace-panel>` sends (they bubble and cross shadow roots):
 * `user-trace-activate` as {@link PanelHandle.onActivate}, `user-trace-error-sources` as
 * {@link PanelHandle.onErrorSources}.
 */
export interface UserTracePanelEventMap {
  "user-trace-activate": CustomEvent<Activation>;
  "user-trace-error-sources": CustomEvent<string[]>;
}

declare global {
  interface HTMLElementTagNameMap {
    "user-trace-panel": UserTracePanelElement;
  }
  interface HTMLElementEventMap extends UserTracePanelEventMap {}
}
