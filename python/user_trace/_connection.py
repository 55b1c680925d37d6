"""The background connection: batches events, sends them, reads the acknowledgements,
reconnects and resends what was not acknowledged.

It runs as one asyncio task, on the tracer's own thread (`Tracer.connect`) or on the caller's
event loop (`Tracer.connect_async`). Producers (any thread) only append encoded events to a
queue under a lock and wake the task. The runtime drops an event whose `(process, id)` it
already holds, so resending is always safe: after a cut, or an `error` reply (which answers
the oldest unacknowledged batch), the task reconnects and sends every unacknowledged batch
again, oldest first, with the same ids.
"""

import asyncio
import collections
import concurrent.futures
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Deque, Dict, List, Optional

import websockets
from websockets.asyncio.client import connect as ws_connect

from . import _encode
from ._encode import Event

log = logging.getLogger("user_trace")

PROTOCOL_VERSION = 1
CLOSE_OTHER_VERSION = 4000

#: The longest WebSocket frame sent, in characters (1–4 MiB of UTF-8): a longer message goes
#: out in fragments, as the runtime and the Rust SDK send theirs. A WebSocket reader keeps a
#: buffer of the largest frame it read for the connection's life (the runtime's among them).
FRAGMENT_CHARS = 1 << 20


def frames(text: str) -> Any:
    """`text` as `websockets` sends it: whole when short, else a list of fragments (one
    message in continuation frames)."""
    if len(text) <= FRAGMENT_CHARS:
        return text
    return [text[i : i + FRAGMENT_CHARS] for i in range(0, len(text), FRAGMENT_CHARS)]


# How a connection ended.
_FINISHED = "finished"  # closing, and everything was acknowledged
_LOST = "lost"  # the socket closed or failed: reconnect now
_REFUSED = "refused"  # an `error` reply: reconnect after a pause and resend


@dataclass(frozen=True)
class Stats:
    """What a tracer did so far."""

    made: int
    """Events made (and queued)."""
    acked: int
    """Events the runtime acknowledged (accepted or refused), and events refused here."""
    refused: int
    """Events refused, by the runtime (the reason was logged) or here (over a limit)."""
    connections: int
    """Successful (re)connections."""
    batches: int
    """`events` messages sent, resends included."""
    resent: int
    """Events sent again on a new connection because they were not acknowledged."""


@dataclass(frozen=True)
class Refusal:
    """An event the runtime refused, with its reason."""

    id: Optional[str]
    reason: str


class ConnectError(ConnectionError):
    """No runtime URL could be reached (each URL's reason is in the message)."""


class _OpenError(Exception):
    pass


class _Batch:
    __slots__ = ("events", "text")

    def __init__(self, events: List[Event]) -> None:
        self.events = events
        self.text = _encode.batch_message(events)


@dataclass
class Options:
    token: Optional[str]
    batch_time: float
    batch_events: int
    max_backoff: float
    max_message_bytes: int
    open_timeout: float


def _describe(e: BaseException) -> str:
    if isinstance(e, websockets.exceptions.InvalidStatus):
        status = e.response.status_code
        body = (e.response.body or b"").decode("utf-8", "replace").strip()
        return f"HTTP {status}" + (f": {body}" if body else "")
    if isinstance(e, (asyncio.TimeoutError, TimeoutError)):
        return "timed out"
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class Connection:
    """The state shared by the producers and the background task."""

    def __init__(self, urls: List[str], options: Options) -> None:
        self.urls = urls
        self.options = options
        # Lazy: the first round of failures does not end the task; it keeps trying.
        self.lazy = False
        # Producers' side, under `lock`.
        self.lock = threading.Lock()
        self.pending: Deque[Event] = collections.deque()
        self.made = 0
        self.closing = False
        # Flush waiters from any thread.
        self.progress = threading.Condition(self.lock)
        # The task's side (its loop's thread only), read by `stats` under `lock`.
        self.unacked: Deque[_Batch] = collections.deque()
        self.acked = 0
        self.refused = 0
        self.connections = 0
        self.batches = 0
        self.resent = 0
        self.refusals: Deque[Refusal] = collections.deque(maxlen=100)
        # Set once: the first connection, or why none of the URLs could be reached.
        self.first: "concurrent.futures.Future[None]" = concurrent.futures.Future()
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.loop_thread: Optional[int] = None
        self._wake: Optional[asyncio.Event] = None
        self._acked_signal: Optional[asyncio.Event] = None

    # --- producers (any thread) ---

    def submit(self, event: Event) -> None:
        """Queues an event (the caller checked it) and wakes the task if it may be asleep."""
        with self.lock:
            if self.closing:
                raise RuntimeError("the tracer is closed: no more events can be sent")
            self.pending.append(event)
            self.made += 1
            wake = len(self.pending) == 1
        if wake:
            self.wake()

    def wake(self) -> None:
        loop, ev = self.loop, self._wake
        if loop is None or ev is None:
            return  # not started yet: the task looks at the queue when it starts
        if threading.get_ident() == self.loop_thread:
            ev.set()
        else:
            try:
                loop.call_soon_threadsafe(ev.set)
            except RuntimeError:
                raise RuntimeError(
                    "the tracer's event loop is closed: events can no longer be sent "
                    "(close the tracer before its loop ends)"
                ) from None

    def stats(self) -> Stats:
        with self.lock:
            return Stats(
                made=self.made,
                acked=self.acked,
                refused=self.refused,
                connections=self.connections,
                batches=self.batches,
                resent=self.resent,
            )

    def wait_acked(self, target: int, timeout: Optional[float]) -> bool:
        """Blocks until `target` events are acknowledged (not on the task's thread)."""
        with self.progress:
            return self.progress.wait_for(lambda: self.acked >= target, timeout)

    async def wait_acked_async(self, target: int) -> None:
        """Waits on the task's loop until `target` events are acknowledged."""
        assert self._acked_signal is not None
        while self.acked < target:
            self._acked_signal.clear()
            await self._acked_signal.wait()

    # --- the task ---

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self._wake = asyncio.Event()
        self._acked_signal = asyncio.Event()
        try:
            await self._run()
        finally:
            if not self.first.done():
                self.first.set_exception(ConnectError("the tracer was closed before it connected"))

    def _done(self) -> bool:
        with self.lock:
            return self.closing and not self.pending and not self.unacked

    async def _run(self) -> None:
        n = len(self.urls)
        next_url = 0
        backoff = 0.05
        pause = False
        failures: List[str] = []
        warned = False
        while not self._done():
            if pause:
                pause = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.options.max_backoff)
            # Several URLs: the next one after a failure, round the list.
            url = self.urls[next_url % n]
            try:
                ws = await self._open(url)
            except _OpenError as e:
                reason = f"{url}: {e}"
                if not self.first.done():
                    failures.append(reason)
                    if len(failures) >= n and not self.lazy:
                        self.first.set_exception(
                            ConnectError("cannot connect to the runtime: " + "; ".join(failures))
                        )
                        return
                elif not warned:
                    warned = True
                    log.warning("user-trace: cannot reach the runtime, retrying: %s", reason)
                next_url += 1
                if next_url % n == 0:
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.options.max_backoff)
                continue
            backoff = 0.05
            warned = False
            with self.lock:
                self.connections += 1
            if not self.first.done():
                self.first.set_result(None)
            try:
                ended = await self._serve(ws)
            finally:
                try:
                    await asyncio.wait_for(ws.close(), 2)
                except BaseException:  # noqa: B036 - closing is best effort, even when cancelled
                    pass
            if ended == _FINISHED:
                return
            pause = ended == _REFUSED
            # The connection ended: with several URLs, the next one first.
            next_url += 1

    async def _open(self, url: str) -> Any:
        headers: Optional[Dict[str, str]] = None
        if self.options.token is not None:
            headers = {"Authorization": f"Bearer {self.options.token}"}
        try:
            ws = await ws_connect(
                url,
                additional_headers=headers,
                open_timeout=self.options.open_timeout,
                compression=None,
                # Acks are small, but one lists every refused event of a batch.
                max_size=64 << 20,
                close_timeout=2,
            )
        except (OSError, asyncio.TimeoutError, TimeoutError, websockets.exceptions.WebSocketException) as e:
            raise _OpenError(_describe(e)) from None
        # The server speaks first: its hello.
        try:
            first = await asyncio.wait_for(ws.recv(), self.options.open_timeout)
            hello = json.loads(first)
        except (
            asyncio.TimeoutError,
            TimeoutError,
            ValueError,
            websockets.exceptions.WebSocketException,
        ) as e:
            await ws.close()
            raise _OpenError(f"no hello from the runtime ({_describe(e)})") from None
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            await ws.close()
            raise _OpenError(f"unexpected first message (not a hello): {str(first)[:200]}")
        if hello.get("protocol") != PROTOCOL_VERSION:
            why = f"the runtime speaks protocol {hello.get('protocol')}, this package speaks {PROTOCOL_VERSION}"
            # PROTOCOL.md: a client refuses another version with close code 4000.
            # A close reason is at most 123 bytes of UTF-8; the version came from the peer.
            await ws.close(CLOSE_OTHER_VERSION, why.encode()[:120].decode("utf-8", "ignore"))
            raise _OpenError(why)
        return ws

    async def _serve(self, ws: Any) -> str:
        # Resend what the previous connection left unacknowledged, in order.
        try:
            for batch in list(self.unacked):
                await ws.send(frames(batch.text))
                with self.lock:
                    self.batches += 1
                    self.resent += len(batch.events)
        except websockets.exceptions.ConnectionClosed:
            pass
        reader = asyncio.ensure_future(self._read(ws))
        writer = asyncio.ensure_future(self._write(ws))
        try:
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                return reader.result()
            ended = writer.result()
            if ended == _FINISHED:
                return _FINISHED
            # A send failed: read what the runtime still says (acks, and why it closed: a
            # 1009 close names a message over its limit) before reconnecting.
            try:
                return await asyncio.wait_for(asyncio.shield(reader), 5)
            except (asyncio.TimeoutError, TimeoutError):
                return _LOST
        finally:
            for task in (reader, writer):
                task.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)

    async def _write(self, ws: Any) -> str:
        assert self._wake is not None and self._acked_signal is not None
        while True:
            batch = await self._next_batch()
            if batch is None:
                # Closing, nothing more to send: wait for the last acks.
                while self.unacked:
                    self._acked_signal.clear()
                    await self._acked_signal.wait()
                return _FINISHED
            self.unacked.append(batch)
            try:
                await ws.send(frames(batch.text))
            except websockets.exceptions.ConnectionClosed:
                return _LOST
            with self.lock:
                self.batches += 1

    async def _next_batch(self) -> Optional[_Batch]:
        """The next batch: the first waiting event and what follows within `batch_time`,
        up to `batch_events` events and the message limit; None when closing and empty."""
        assert self._wake is not None
        while True:
            with self.lock:
                if self.pending:
                    break
                if self.closing:
                    return None
                self._wake.clear()
            await self._wake.wait()
        with self.lock:
            full = len(self.pending) >= self.options.batch_events or self.closing
        if not full and self.options.batch_time > 0:
            await asyncio.sleep(self.options.batch_time)
        events: List[Event] = []
        size = _encode.ENVELOPE_BYTES
        with self.lock:
            while self.pending and len(events) < self.options.batch_events:
                e = self.pending[0]
                if events and size + e.size + 1 > self.options.max_message_bytes:
                    break
                self.pending.popleft()
                events.append(e)
                size += e.size + 1
        return _Batch(events)

    async def _read(self, ws: Any) -> str:
        while True:
            try:
                message = await ws.recv()
            except websockets.exceptions.ConnectionClosed as e:
                rcvd = e.rcvd
                if rcvd is not None and rcvd.code == 1009:
                    self._too_big(rcvd.reason)
                elif rcvd is not None and rcvd.code != 1000:
                    log.info("user-trace: the runtime closed the connection: %s %s", rcvd.code, rcvd.reason)
                return _LOST
            try:
                reply = json.loads(message)
            except ValueError:
                log.warning("user-trace: a reply from the runtime is not JSON: %.200s", message)
                continue
            kind = reply.get("type") if isinstance(reply, dict) else None
            if kind == "ack":
                self._ack(reply)
            elif kind == "error":
                if reply.get("close") == 1009:
                    # A message over the runtime's limit (its limit is below ours): halve
                    # it instead of sending it again whole; the close follows.
                    self._too_big(str(reply.get("message", "")))
                    return _LOST
                # The oldest unacknowledged batch was not accepted (the server is stopping,
                # or could not store it): start over from it, in order, after a pause.
                # The runtime took none of the batches sent after it on this connection
                # (PROTOCOL.md), so the resend keeps their order.
                log.warning(
                    "user-trace: the runtime did not accept a batch, sending it again: %s",
                    reply.get("message"),
                )
                return _REFUSED
            elif kind != "hello":
                log.warning("user-trace: unknown message from the runtime, skipped: %.200s", message)

    def _ack(self, reply: Dict[str, Any]) -> None:
        assert self._acked_signal is not None
        if not self.unacked:
            log.warning("user-trace: an ack for no batch, ignored")
            return
        batch = self.unacked.popleft()
        rejected = reply.get("rejected") or []
        for r in rejected:
            r = r if isinstance(r, dict) else {}
            refusal = Refusal(id=r.get("id"), reason=str(r.get("reason", "")))
            self.refusals.append(refusal)
            log.warning("user-trace: the runtime refused event %s: %s", refusal.id, refusal.reason)
        with self.progress:
            self.acked += len(batch.events)
            self.refused += len(rejected)
            self.progress.notify_all()
        self._acked_signal.set()

    def _too_big(self, reason: str) -> None:
        """The runtime closed with 1009 on the oldest unacknowledged message (its limit is
        below ours): halve that message, or refuse its only event."""
        if not self.unacked:
            return
        batch = self.unacked.popleft()
        if len(batch.events) > 1:
            half = len(batch.events) // 2
            self.unacked.appendleft(_Batch(batch.events[half:]))
            self.unacked.appendleft(_Batch(batch.events[:half]))
            return
        text = batch.events[0].text
        log.error(
            "user-trace: an event of %d bytes was refused by the runtime and is dropped: %s",
            batch.events[0].size,
            reason,
        )
        try:
            event_id = json.loads(text).get("id")
        except ValueError:
            event_id = None
        self.refusals.append(Refusal(id=event_id, reason=f"the runtime refused it: {reason}"))
        assert self._acked_signal is not None
        with self.progress:
            self.acked += 1
            self.refused += 1
            self.progress.notify_all()
        self._acked_signal.set()
