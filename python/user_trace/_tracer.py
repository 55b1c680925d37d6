"""The tracer: makes events and hands them to the background connection."""

import asyncio
import atexit
import logging
import os
import threading
import urllib.parse
from typing import Any, List, Mapping, Optional, Tuple

from . import _encode
from ._connection import Connection, ConnectError, Options, Refusal, Stats
from ._handles import Trace
from ._ids import Ids, default_name, now_micros, process_name

log = logging.getLogger("user_trace")

_PRIVATE = object()


def parse_urls(url: str) -> List[str]:
    """The runtime URLs of a comma-separated list, each checked to be a WebSocket URL."""
    if not isinstance(url, str):
        raise TypeError(f"the runtime URL must be a str, not {type(url).__name__}")
    urls = [u.strip() for u in url.split(",") if u.strip()]
    if not urls:
        raise ValueError(
            "no runtime URL given: pass the runtime's ingest URL, e.g. ws://127.0.0.1:4700/v1/ingest"
        )
    for u in urls:
        parts = urllib.parse.urlsplit(u)
        if parts.scheme.lower() not in ("ws", "wss"):
            hint = ""
            if parts.scheme.lower() in ("http", "https"):
                hint = f" (did you mean {'ws' if parts.scheme.lower() == 'http' else 'wss'}://?)"
            raise ValueError(
                f"runtime URL {u!r} must start with ws:// or wss://{hint}: the runtime's "
                "ingest endpoint, e.g. ws://127.0.0.1:4700/v1/ingest"
            )
        try:
            host, _port = parts.hostname, parts.port
        except ValueError as e:
            raise ValueError(f"runtime URL {u!r} is not valid: {e}") from None
        if not host:
            raise ValueError(f"runtime URL {u!r} names no host")
    return urls


def _check_token(token: Optional[str]) -> Optional[str]:
    if token is None:
        return None
    if not isinstance(token, str):
        raise TypeError(f"the token must be a str, not {type(token).__name__}")
    if not token.strip():
        raise ValueError("the token is empty (an unset variable?): give the runtime's token, or None")
    if not all(33 <= ord(c) < 127 for c in token):
        raise ValueError("the token must be printable ASCII without spaces (it is sent in an HTTP header)")
    return token


def _positive(name: str, value: Any, integer: bool = False) -> Any:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return value


class Tracer:
    """A connection to a user-trace runtime; make traces with :meth:`trace`.

    Make one with :meth:`connect` (sync code: the connection runs on a background thread)
    or ``await`` :meth:`connect_async` (asyncio code: it runs on the caller's event loop).
    Handles are usable from any thread. Events are buffered and sent in batches; a lost
    connection is reopened (the next URL first, when several are given) and what was not
    acknowledged is sent again with the same ids, which the runtime drops as duplicates if
    it had them: nothing is lost or doubled.

    Use it as a context manager (``with`` / ``async with``), or call :meth:`close` /
    :meth:`aclose`: closing waits until every event is acknowledged.
    """

    def __init__(
        self,
        _private: object = None,
        url: str = "",
        token: Optional[str] = None,
        process: Optional[str] = None,
        **options: Any,
    ) -> None:
        if _private is not _PRIVATE:
            raise TypeError("make a Tracer with Tracer.connect(url) or await Tracer.connect_async(url)")
        urls = parse_urls(url)
        batch_time = options["batch_time"]
        conn_options = Options(
            token=_check_token(token),
            batch_time=_positive("batch_time", batch_time) if batch_time else 0.0,
            batch_events=_positive("batch_events", options["batch_events"], integer=True),
            max_backoff=_positive("max_backoff", options["max_backoff"]),
            max_message_bytes=_positive("max_message_bytes", options["max_message_bytes"], integer=True),
            open_timeout=_positive("open_timeout", options["open_timeout"]),
        )
        name = default_name() if process is None else process
        self._process = _encode.label(process_name(_encode.label(name, "process")), "process name")
        self._ids = Ids()
        self._pid = os.getpid()
        self._conn = Connection(urls, conn_options)
        self._closed = False
        # A thread of its own (connect), or the caller's loop (connect_async).
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        # The connection's task: a concurrent Future (thread) or an asyncio Task.
        self._task: Any = None
        self._close_on_exit = 5.0

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        token: Optional[str] = None,
        process: Optional[str] = None,
        lazy: bool = False,
        batch_time: float = 0.005,
        batch_events: int = 512,
        max_backoff: float = 2.0,
        max_message_bytes: int = 16 << 20,
        open_timeout: float = 5.0,
        close_on_exit: float = 5.0,
    ) -> "Tracer":
        """Connects to a runtime, from sync code (the connection runs on a daemon thread).

        :param url: the runtime's ingest URL, ``ws://HOST:PORT/v1/ingest`` (or ``wss://``).
            Several, comma-separated (runtimes sharing one NATS JetStream log), are tried in
            turn: after a failure the tracer moves to the next and resends there.
        :param token: the runtime's bearer token, when it has one.
        :param process: the name on the panel's process badges, shown as ``name@host:pid``
            (default: the script's name).
        :param lazy: do not wait for the runtime: events are buffered until it is reachable.
            Without it, raises :class:`ConnectError` when no URL can be reached now.
        :param batch_time: seconds events are gathered before a batch is sent.
        :param batch_events: most events in one batch.
        :param max_backoff: longest wait, in seconds, between reconnection attempts.
        :param max_message_bytes: largest message sent (the runtime's
            ``--max-message-bytes``); a bigger batch is split, a bigger event raises.
        :param open_timeout: seconds one connection attempt may take.
        :param close_on_exit: at interpreter exit, seconds to wait for what is not yet
            acknowledged (a warning is logged if it does not make it).
        :raises ValueError: a URL that is not ``ws://`` or ``wss://``, a bad option.
        :raises ConnectError: no URL could be reached (each one's reason is in the message:
            a wrong token is ``HTTP 401``).
        """
        self = cls(
            _PRIVATE,
            url,
            token,
            process,
            batch_time=batch_time,
            batch_events=batch_events,
            max_backoff=max_backoff,
            max_message_bytes=max_message_bytes,
            open_timeout=open_timeout,
        )
        self._conn.lazy = lazy
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                # As asyncio.run ends: cancel what is left (a close that timed out).
                tasks = asyncio.all_tasks(loop)
                for task in tasks:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
                loop.close()

        self._thread = threading.Thread(target=main, name="user-trace", daemon=True)
        self._thread.start()
        ready.wait()
        self._task = asyncio.run_coroutine_threadsafe(self._conn.run(), loop)
        self._loop = loop
        if not lazy:
            try:
                self._conn.first.result()
            except ConnectError:
                self._stop_thread()
                raise
        self._close_on_exit = close_on_exit
        atexit.register(self._at_exit)
        return self

    @classmethod
    async def connect_async(
        cls,
        url: str,
        *,
        token: Optional[str] = None,
        process: Optional[str] = None,
        lazy: bool = False,
        batch_time: float = 0.005,
        batch_events: int = 512,
        max_backoff: float = 2.0,
        max_message_bytes: int = 16 << 20,
        open_timeout: float = 5.0,
    ) -> "Tracer":
        """Connects to a runtime from asyncio code: the connection is a task on the running
        event loop. Same parameters as :meth:`connect`. Close it (``async with``, or
        ``await tracer.aclose()``) before the loop ends, or what is not yet acknowledged is
        lost with the loop."""
        self = cls(
            _PRIVATE,
            url,
            token,
            process,
            batch_time=batch_time,
            batch_events=batch_events,
            max_backoff=max_backoff,
            max_message_bytes=max_message_bytes,
            open_timeout=open_timeout,
        )
        self._conn.lazy = lazy
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._conn.run())
        if not lazy:
            await asyncio.wrap_future(self._conn.first)
        return self

    # --- what handles use ---

    def _send(self, op: str, fields: List[Tuple[str, Any]], what: str) -> None:
        if os.getpid() != self._pid:
            raise RuntimeError(
                f"this Tracer was made in process {self._pid}, before a fork: make a new "
                "Tracer in this process"
            )
        if self._closed:
            raise RuntimeError("the tracer is closed: no more events can be sent")
        event = _encode.event(
            self._ids.next(),
            self._process,
            now_micros(),
            op,
            fields,
            what,
            self._conn.options.max_message_bytes,
        )
        self._conn.submit(event)

    def _new_id(self) -> str:
        return self._ids.next()

    # --- the API ---

    @property
    def process(self) -> str:
        """This process's name on the panel (``name@host:pid``)."""
        return self._process

    def trace(self, name: str, source: Optional[str] = None) -> Trace:
        """Starts a root trace; ``name`` is its label. End it with :meth:`Trace.end`, or use it
        as a context manager (``with``/``async with``: an exception ends it with an error).
        ``source``: the host's name for the part of the program that runs it (a node of a
        visual editor; protocol 1.2)."""
        return Trace._start(self, name, None, source)

    def join_trace(self, trace_id: str, name: str) -> Trace:
        """Joins a trace that another process started (or will start) under ``trace_id``:
        several processes write into one trace this way, each shown as a process of it."""
        return Trace._join(self, trace_id, name)

    def clear(self) -> None:
        """Drops everything on the panels (a new run begins)."""
        self._send("clear", [], "clear")

    def send_event(self, event: Mapping[str, Any]) -> None:
        """Forwards an event made elsewhere (a replay, a bridge) as it is: it must have
        ``id``, ``process``, ``ts`` and ``op``; its id and process are kept."""
        if not isinstance(event, Mapping):
            raise TypeError(f"an event must be a mapping, not {type(event).__name__}")
        missing = [k for k in ("id", "process", "ts", "op") if k not in event]
        if missing:
            raise ValueError(f"the event has no {', '.join(missing)}")
        if self._closed:
            raise RuntimeError("the tracer is closed: no more events can be sent")
        raw = _encode.value(dict(event), "the event")
        event_out = _encode.checked(raw.text, "the event", self._conn.options.max_message_bytes)
        self._conn.submit(event_out)

    def stats(self) -> Stats:
        """Counters of what the tracer did (made, acknowledged, refused, connections...)."""
        return self._conn.stats()

    @property
    def refusals(self) -> List[Refusal]:
        """The last 100 events the runtime refused, with its reasons (each is also logged
        as a warning on the ``user_trace`` logger)."""
        return list(self._conn.refusals)

    def _on_loop_thread(self) -> bool:
        return threading.get_ident() == self._conn.loop_thread

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until every event made so far is acknowledged by the runtime.

        :raises TimeoutError: not all were acknowledged within ``timeout`` seconds.
        :raises RuntimeError: called on the event loop of a tracer made with
            :meth:`connect_async` (it would block that loop): ``await flush_async()``.
        """
        if self._on_loop_thread():
            raise RuntimeError("flush() would block the tracer's event loop: use await tracer.flush_async()")
        target = self._conn.stats().made
        if not self._conn.wait_acked(target, timeout):
            s = self._conn.stats()
            raise TimeoutError(
                f"{target - s.acked} of {target} events not acknowledged by the runtime within {timeout} s"
            )

    async def flush_async(self, timeout: Optional[float] = None) -> None:
        """:meth:`flush` for asyncio code (on any event loop)."""
        target = self._conn.stats().made
        if self._on_loop_thread():
            try:
                await asyncio.wait_for(self._conn.wait_acked_async(target), timeout)
            except (asyncio.TimeoutError, TimeoutError):
                left = target - self._conn.stats().acked
                raise TimeoutError(
                    f"{left} of {target} events not acknowledged by the runtime within {timeout} s"
                ) from None
        else:
            await asyncio.get_running_loop().run_in_executor(None, self.flush, timeout)

    def _begin_close(self) -> bool:
        with self._conn.lock:
            if self._closed:
                return False
            self._closed = True
            self._conn.closing = True
        try:
            self._conn.wake()
        except RuntimeError:
            pass
        return True

    def _lost(self) -> int:
        s = self._conn.stats()
        return s.made - s.acked

    def close(self, timeout: Optional[float] = 10.0) -> None:
        """Sends what is left, waits until it is acknowledged, and closes the connection.

        :raises TimeoutError: events were still not acknowledged after ``timeout`` seconds
            (the runtime could not be reached); they are lost.
        """
        if self._thread is None:
            if self._on_loop_thread():
                raise RuntimeError("close() would block the tracer's event loop: use await tracer.aclose()")
            # An asyncio tracer closed from another thread.
            if not self._begin_close():
                return
            assert self._loop is not None
            fut = asyncio.run_coroutine_threadsafe(self._finish_async(timeout), self._loop)
            fut.result()
        else:
            if not self._begin_close():
                return
            atexit.unregister(self._at_exit)
            try:
                self._task.result(timeout)
            except Exception:  # the timeout (the thread's end cancels the task)
                pass
            self._stop_thread()
        lost = self._lost()
        if lost:
            raise TimeoutError(
                f"{lost} events were not acknowledged by the runtime within {timeout} s and are lost"
            )

    async def aclose(self, timeout: Optional[float] = 10.0) -> None:
        """:meth:`close` for asyncio code."""
        if self._thread is not None or not self._on_loop_thread():
            await asyncio.get_running_loop().run_in_executor(None, self.close, timeout)
            return
        if not self._begin_close():
            return
        await self._finish_async(timeout)
        lost = self._lost()
        if lost:
            raise TimeoutError(
                f"{lost} events were not acknowledged by the runtime within {timeout} s and are lost"
            )

    async def _finish_async(self, timeout: Optional[float]) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        except ConnectError:
            pass

    def _stop_thread(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:
            pass
        if thread is not threading.current_thread():
            thread.join(5)

    def _at_exit(self) -> None:
        try:
            self.close(self._close_on_exit)
        except TimeoutError as e:
            log.warning("user-trace: at exit: %s", e)

    def __enter__(self) -> "Tracer":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self.close()
        except TimeoutError:
            if exc is None:
                raise
            log.warning("user-trace: closing after an exception: events were lost", exc_info=True)

    async def __aenter__(self) -> "Tracer":
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            await self.aclose()
        except TimeoutError:
            if exc is None:
                raise
            log.warning("user-trace: closing after an exception: events were lost", exc_info=True)

    def __repr__(self) -> str:
        return f"<Tracer {self._process} -> {','.join(self._conn.urls)}>"


__all__ = ["Tracer", "ConnectError", "Stats", "Refusal"]
