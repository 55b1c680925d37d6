"""What the tests need around the package: a real runtime on a free loopback port, a panel
that subscribes over WebSocket as the panel does and builds the tree it would show, a TCP
proxy that cuts connections on cue, and a message-level proxy that answers with error
replies. Everything waits with a time limit."""

import asyncio
import json
import os
import secrets
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import serve as ws_serve

WAIT = 20.0  # seconds any one expected outcome may take


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runtime:
    """`user-trace-runtime --in-memory --token T` on a free loopback port."""

    def __init__(
        self, binary: str, port: Optional[int] = None, token: Optional[str] = None, args: Tuple[str, ...] = ()
    ) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.token = token or secrets.token_hex(16)
        self.addr = f"127.0.0.1:{self.port}"
        self.ingest_url = f"ws://{self.addr}/v1/ingest"
        self.panel_url = f"ws://{self.addr}/v1/panel"
        self.proc = subprocess.Popen(
            [self.binary, "--listen", self.addr, "--in-memory", "--token", self.token, *args],
            env={**os.environ, "RUST_LOG": "warn"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"the runtime exited ({self.proc.returncode}): {err}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the runtime did not listen on {self.addr} within 10 s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stderr:
            self.proc.stderr.close()


class LoopThread:
    """An asyncio loop on a thread of its own, for the panel and the proxies."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = WAIT) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.run(cancel_all(), 10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


# --- the panel's side ---


@dataclass
class SpanView:
    id: str
    trace: str
    kind: str
    title: Optional[str]
    content: Any
    process: str
    status: Optional[str] = None
    message: Optional[str] = None
    appends: List[str] = field(default_factory=list)
    writers: Set[str] = field(default_factory=set)
    json_text: Optional[str] = None  # a JSON document streamed in pieces, as it arrived
    json_done: bool = False

    @property
    def text(self) -> str:
        return self.content


@dataclass
class TraceView:
    id: str
    name: str
    parent_span: Optional[str]
    processes: List[str] = field(default_factory=list)
    spans: List[str] = field(default_factory=list)
    status: Optional[str] = None
    message: Optional[str] = None


class Panel:
    """Subscribes to a runtime as a panel does (hello, subscribe, snapshot, numbered event
    frames) and applies what it receives to a small tree: what a panel would show."""

    def __init__(self, loop: LoopThread, url: str, token: Optional[str]) -> None:
        self.loop = loop
        self.url = url
        self.token = token
        self.cond = threading.Condition()
        self.traces: Dict[str, TraceView] = {}
        self.spans: Dict[str, SpanView] = {}
        self.events: List[Dict[str, Any]] = []  # every event applied, in order
        self.seen: Set[Tuple[str, str]] = set()
        self.duplicates: List[Dict[str, Any]] = []
        self.problems: List[str] = []  # gaps, errors: each one fails the test
        self.next_seq: Optional[int] = None
        self._subscribed = threading.Event()
        self.task = asyncio.run_coroutine_threadsafe(self._run(), loop.loop)
        if not self._subscribed.wait(WAIT):
            raise AssertionError("the panel did not get its snapshot in time")

    async def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        async with ws_connect(self.url, additional_headers=headers, max_size=None) as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello" and hello["protocol"] == 1, hello
            await ws.send(json.dumps({"type": "subscribe"}))
            async for message in ws:
                self._receive(json.loads(message))

    def _receive(self, m: Dict[str, Any]) -> None:
        with self.cond:
            if m["type"] == "snapshot":
                self.traces.clear()
                self.spans.clear()
                for e in m["events"]:
                    self._apply(e)
                self.next_seq = m["seq"] + 1
                self._subscribed.set()
            elif m["type"] == "events":
                if self.next_seq is not None and m["first_seq"] != self.next_seq:
                    self.problems.append(f"gap: expected seq {self.next_seq}, got {m['first_seq']}")
                self.next_seq = m["first_seq"] + len(m["events"])
                for e in m["events"]:
                    key = (e["process"], e["id"])
                    if key in self.seen:
                        self.duplicates.append(e)
                        continue
                    self.seen.add(key)
                    self._apply(e)
                self._subscribed.set()
            elif m["type"] == "error":
                self.problems.append(f"error from the runtime: {m.get('message')}")
            self.cond.notify_all()

    def _apply(self, e: Dict[str, Any]) -> None:
        self.events.append(e)
        op = e["op"]
        if op == "trace_start":
            t = self.traces.get(e["trace"])
            if t is None:
                t = self.traces[e["trace"]] = TraceView(e["trace"], e["name"], e.get("parent_span"))
            if e["process"] not in t.processes:
                t.processes.append(e["process"])
        elif op == "span_create":
            kind = e["kind"]
            content = e.get("content")
            if content is None:
                content = {"text": "", "markdown": "", "items": [], "messages": []}.get(kind)
            s = SpanView(e["span"], e["trace"], kind, e.get("title"), content, e["process"])
            s.writers.add(e["process"])
            self.spans[s.id] = s
            self.traces[e["trace"]].spans.append(s.id)
        elif op == "text_append":
            s = self.spans[e["span"]]
            s.content += e["text"]
            s.appends.append(e["text"])
            s.writers.add(e["process"])
        elif op == "messages_add":
            s = self.spans[e["span"]]
            s.content = list(s.content) + list(e["messages"])
            s.writers.add(e["process"])
        elif op == "message_append":
            s = self.spans[e["span"]]
            last = s.content[-1]
            body = last.get("content")
            if body is None or isinstance(body, str):
                last["content"] = (body or "") + e["text"]
            elif body and isinstance(body[-1], dict) and body[-1].get("type") == "text":
                body[-1]["text"] += e["text"]
            else:
                body.append({"type": "text", "text": e["text"]})
            s.appends.append(e["text"])
        elif op == "json_append":
            s = self.spans[e["span"]]
            s.json_text = (s.json_text or "") + e["text"]
            s.appends.append(e["text"])
            if e.get("done"):
                self._finish_json(s)
        elif op == "content_replace":
            self.spans[e["span"]].content = e["content"]
        elif op in ("items_set", "items_add"):
            s = self.spans[e["span"]]
            items = list(s.content)
            for item in e["items"]:
                same = [i for i, x in enumerate(items) if x["name"] == item["name"]]
                if op == "items_set" and same:
                    items[same[0]] = item
                else:
                    items.append(item)
            s.content = items
        elif op == "span_end":
            s = self.spans[e["span"]]
            if s.json_text is not None:
                self._finish_json(s)
            if s.status is None:
                s.status, s.message = e.get("status", "ok"), e.get("message")
        elif op == "trace_end":
            t = self.traces[e["trace"]]
            if t.status is None:
                t.status, t.message = e.get("status", "ok"), e.get("message")
        elif op == "clear":
            self.traces.clear()
            self.spans.clear()

    @staticmethod
    def _finish_json(s: SpanView) -> None:
        if s.json_done:
            return
        s.json_done = True
        try:
            s.content = json.loads(s.json_text or "")
        except ValueError:
            pass

    def wait(self, predicate: Callable[["Panel"], bool], what: str, timeout: float = WAIT) -> None:
        """Waits until `predicate(panel)` holds; fails with what the panel holds if not."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0 or self.task.done():
                    error = self.task.exception() if self.task.done() else None
                    raise AssertionError(
                        f"the panel never showed {what} (within {timeout} s); "
                        f"panel connection: {error!r}; it holds {self.describe()}"
                    )
                self.cond.wait(min(left, 0.5))

    def wait_trace_ended(self, trace_id: str, timeout: float = WAIT) -> TraceView:
        self.wait(
            lambda p: trace_id in p.traces and p.traces[trace_id].status is not None,
            f"trace {trace_id} ended",
            timeout,
        )
        return self.traces[trace_id]

    def trace_named(self, name: str) -> TraceView:
        found = [t for t in self.traces.values() if t.name == name]
        assert len(found) == 1, f"{len(found)} traces named {name!r}: {self.describe()}"
        return found[0]

    def spans_of(self, trace: TraceView) -> List[SpanView]:
        return [self.spans[s] for s in trace.spans]

    def describe(self) -> str:
        lines = []
        for t in self.traces.values():
            lines.append(f"trace {t.name!r} {t.id} status={t.status} processes={t.processes}")
            for s in self.spans_of(t):
                content = (
                    s.content
                    if not isinstance(s.content, str) or len(s.content) < 80
                    else s.content[:80] + "…"
                )
                lines.append(f"  {s.kind} {s.title!r} status={s.status} content={content!r}")
        return "\n".join(lines) or "nothing"

    def check_clean(self) -> None:
        """No gap in the numbers, no duplicate event, no error from the runtime."""
        with self.cond:
            assert not self.problems, self.problems
            assert not self.duplicates, f"duplicates reached the panel: {self.duplicates[:5]}"


# --- proxies ---


class TcpProxy:
    """Forwards loopback TCP connections to a target port, and cuts them on cue.

    `cut_up_after` / `cut_down_after` are byte counts, summed over every connection, of what
    went client -> server (up) or server -> client (down): the chunk that crosses one is
    dropped, not forwarded, and both sockets of its connection are reset. Each fires once.
    """

    def __init__(self, loop: LoopThread, target_port: int, die_on_cut: bool = False) -> None:
        self.loop = loop
        self.die_on_cut = die_on_cut  # a cut also stops listening: the address then refuses
        self.target_port = target_port
        self.port = free_port()
        self.bytes = {"up": 0, "down": 0}
        self.cuts: List[Tuple[str, int]] = []  # pending: (direction, threshold)
        self.fired: List[Tuple[str, int]] = []
        self.connections = 0
        self.transports: List[Any] = []
        self.server = loop.run(asyncio.start_server(self._handle, "127.0.0.1", self.port))

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ingest"

    def cut_after(self, direction: str, total_bytes: int) -> None:
        self.cuts.append((direction, total_bytes))

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        try:
            sreader, swriter = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            cwriter.transport.abort()
            return
        self.connections += 1
        self.transports += [cwriter.transport, swriter.transport]

        def reset() -> None:
            cwriter.transport.abort()
            swriter.transport.abort()

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, direction: str) -> None:
            try:
                while True:
                    data = await src.read(65536)
                    if not data:
                        break
                    total = self.bytes[direction] + len(data)
                    due = [c for c in self.cuts if c[0] == direction and total > c[1]]
                    if due:
                        self.cuts.remove(due[0])
                        self.fired.append(due[0])
                        if self.die_on_cut:
                            self.server.close()
                        reset()
                        return
                    self.bytes[direction] = total
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                reset()

        await asyncio.gather(pump(creader, swriter, "up"), pump(sreader, cwriter, "down"))

    def close(self) -> None:
        """Stops listening and resets every connection (the address then refuses)."""

        async def close() -> None:
            self.server.close()
            for t in self.transports:
                t.abort()
            await self.server.wait_closed()

        self.loop.run(close())


STORE_ERROR = "not stored: the batch was not accepted, send it again: test"
NOT_IN_ORDER = "not taken: a batch before it on this connection was not accepted, send again from that one"


class WsProxy:
    """A producer-side WebSocket proxy in front of a runtime that answers chosen `events`
    messages (numbered from 1 across connections) with an `error` reply:

    - `"refuse"`: the message is not forwarded (the runtime never has it), as when its
      store is full;
    - `"store_then_refuse"`: it is forwarded and stored, but the ack is replaced by the
      error (a large batch stored in part, then refused).

    As the runtime does, a connection that refused a message takes no later one (they are
    answered with an error too) until that message comes again: taken, they would come
    before it. Every message is recorded as (connection number, message number, text)."""

    def __init__(self, loop: LoopThread, upstream: str, token: str, plan: Dict[int, str]) -> None:
        self.loop = loop
        self.upstream = upstream
        self.token = token
        self.plan = plan
        self.port = free_port()
        self.records: List[Tuple[int, int, str]] = []
        self.connections = 0
        self.count = 0
        self.server = loop.run(self._start())

    async def _start(self) -> Any:
        return await ws_serve(self._handle, "127.0.0.1", self.port, max_size=None, compression=None)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ingest"

    async def _handle(self, client: Any) -> None:
        self.connections += 1
        conn = self.connections
        headers = {"Authorization": f"Bearer {self.token}"}
        async with ws_connect(
            self.upstream, additional_headers=headers, max_size=None, compression=None
        ) as up:
            await client.send(await up.recv())  # the hello
            again = None  # the first event of the message refused on this connection
            async for text in client:
                self.count += 1
                n = self.count
                self.records.append((conn, n, text))
                action = self.plan.get(n, "forward")
                if again is not None and event_ids(text)[:1] != [again]:
                    await client.send(json.dumps({"type": "error", "message": NOT_IN_ORDER}))
                    continue
                again = None
                if action == "refuse":
                    again = event_ids(text)[0]
                    await client.send(json.dumps({"type": "error", "message": STORE_ERROR}))
                    continue
                await up.send(text)
                reply = await up.recv()
                if action == "store_then_refuse":
                    reply = json.dumps({"type": "error", "message": STORE_ERROR})
                await client.send(reply)

    def close(self) -> None:
        async def close() -> None:
            self.server.close()
            await self.server.wait_closed()

        self.loop.run(close())


def event_ids(message: str) -> List[str]:
    return [e["id"] for e in json.loads(message)["events"]]
