"""Near-miss inputs get a clear exception at the call, and nothing half-sent."""

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest

import user_trace
from support import WAIT, LoopThread, Panel, Runtime, free_port
from user_trace import ConnectError, Tracer


def test_wrong_or_missing_token_is_a_clear_error(runtime: Runtime) -> None:
    with pytest.raises(ConnectError, match=r"HTTP 401: a valid token is required"):
        Tracer.connect(runtime.ingest_url, token="not-" + runtime.token)
    with pytest.raises(ConnectError, match=r"HTTP 401"):
        Tracer.connect(runtime.ingest_url)

    async def main() -> None:
        await Tracer.connect_async(runtime.ingest_url, token="wrong")

    with pytest.raises(ConnectError, match=r"HTTP 401"):
        asyncio.run(asyncio.wait_for(main(), WAIT))


@pytest.mark.parametrize(
    "url, message",
    [
        ("javascript://alert(1)", "must start with ws:// or wss://"),
        ("javascript:alert(1)", "must start with ws:// or wss://"),
        ("http://127.0.0.1:4700/v1/ingest", r"did you mean ws://\?"),
        ("https://example.test/v1/ingest", r"did you mean wss://\?"),
        ("127.0.0.1:4700", "must start with ws:// or wss://"),
        ("", "no runtime URL given"),
        (" , ", "no runtime URL given"),
        ("ws:///v1/ingest", "names no host"),
        ("ws://127.0.0.1:99999/v1/ingest", "not valid"),
        ("ws://127.0.0.1:4700/v1/ingest,file:///etc/passwd", "file:///etc/passwd"),
    ],
)
def test_bad_urls_are_refused_before_connecting(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Tracer.connect(url)


def test_bad_options_and_tokens() -> None:
    url = f"ws://127.0.0.1:{free_port()}/v1/ingest"
    with pytest.raises(ValueError, match="token is empty"):
        Tracer.connect(url, token="")
    with pytest.raises(ValueError, match="printable ASCII"):
        Tracer.connect(url, token="a\r\nX-Injected: 1")
    with pytest.raises(TypeError, match="URL must be a str"):
        Tracer.connect(b"ws://127.0.0.1/v1/ingest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_events"):
        Tracer.connect(url, batch_events=0)
    with pytest.raises(ValueError, match="process"):
        Tracer.connect(url, process="p" * 5000)
    with pytest.raises(TypeError, match="Tracer.connect"):
        Tracer()
    # An unreachable runtime: a clear error naming the URL, within the open timeout.
    with pytest.raises(ConnectError, match=r"127\.0\.0\.1.*(refused|Connect call failed)"):
        Tracer.connect(url)


def test_bad_values_raise_at_the_call_and_send_nothing(runtime: Runtime, panel: Panel) -> None:
    with Tracer.connect(runtime.ingest_url, token=runtime.token) as tracer:
        trace = tracer.trace("bad inputs")
        text = trace.text("text")
        items = trace.items("items")
        made = tracer.stats().made

        class Opaque:
            pass

        bad_calls = [
            (TypeError, "JSON span 'j' is not JSON-serializable.*set", lambda: trace.json("j", {1, 2})),
            (TypeError, "not JSON-serializable.*Opaque", lambda: trace.json("j", {"a": Opaque()})),
            (TypeError, "keys must be", lambda: trace.json("j", {(1, 2): 3})),
            (ValueError, "NaN and infinities are not JSON", lambda: trace.json("j", [math.nan])),
            (ValueError, "NaN and infinities are not JSON", lambda: items.set_items({"x": math.inf})),
            (ValueError, "Circular reference", lambda: trace.json("j", _circular())),
            (ValueError, "not valid JSON", lambda: trace.json_text("j", "{'single': 'quotes'}")),
            (ValueError, "not valid JSON", lambda: trace.json_text("j", "NaN")),
            (TypeError, "item 'big' is not JSON-serializable", lambda: trace.items("i", {"big": b"bytes"})),
            (TypeError, r"\(name, value\) pair", lambda: trace.items("i", [("only-name",)])),
            (TypeError, "mapping or", lambda: trace.items("i", "ab")),
            (TypeError, "must be a str, not int", lambda: text.append(42)),  # type: ignore[arg-type]
            (TypeError, "must be a str, not NoneType", lambda: tracer.trace(None)),  # type: ignore[arg-type]
            (ValueError, "lone surrogate", lambda: text.append("ok \udcff")),
            (ValueError, "lone surrogate", lambda: trace.json("j", {"k": "\ud800"})),
            (ValueError, "over the runtime's limit of 4096", lambda: trace.text("t" * 4097)),
            (ValueError, "over the runtime's limit of 4096", lambda: tracer.trace("é" * 2049)),
            (TypeError, "append is for text and markdown spans", lambda: items.append("x")),
            (TypeError, "items_set is for items spans", lambda: text.set_items({"a": 1})),
        ]
        for exc, message, call in bad_calls:
            with pytest.raises(exc, match=message):
                call()
        assert tracer.stats().made == made  # nothing was queued by a call that raised

        text.append("fine")
        text.end()
        with pytest.raises(RuntimeError, match="has ended: text cannot be appended"):
            text.append("late")
        text.end()  # a second end sends nothing
        trace.end()
        assert tracer.stats().made == made + 3
    t = panel.wait_trace_ended(trace.id)
    assert [(s.kind, s.title) for s in panel.spans_of(t)] == [("text", "text"), ("items", "items")]
    assert panel.spans_of(t)[0].text == "fine"
    ends = [e for e in panel.events if e["op"] == "span_end"]
    assert len(ends) == 1
    with pytest.raises(RuntimeError, match="tracer is closed"):
        trace.text("after close")


def test_an_event_over_the_message_limit_raises(runtime: Runtime) -> None:
    with Tracer.connect(runtime.ingest_url, token=runtime.token, max_message_bytes=10_000) as tracer:
        trace = tracer.trace("big")
        with pytest.raises(ValueError, match="over the message limit of 10000 bytes"):
            trace.json("too big", "x" * 20_000)
        span = trace.text("ok", "x" * 5_000)
        with pytest.raises(ValueError, match="over the message limit"):
            span.append("y" * 10_000)
        span.end()
        trace.end()


def test_a_runtime_with_a_smaller_message_limit_splits_batches(runtime_bin: str, loop: LoopThread) -> None:
    # The runtime closes with 1009 on a message over its limit: the tracer halves the batch
    # and sends the halves, nothing lost.
    runtime = Runtime(runtime_bin, args=("--max-message-bytes", "4000"))
    try:
        panel = Panel(loop, runtime.panel_url, runtime.token)
        tokens = [f"{i:04d}-" + "z" * 90 for i in range(200)]  # ~100 bytes each: 20 KB in all
        with Tracer.connect(runtime.ingest_url, token=runtime.token, batch_time=0.05) as tracer:
            with tracer.trace("split") as trace:
                with trace.text("answer") as answer:
                    for t in tokens:
                        answer.append(t)
        stats = tracer.stats()
        assert stats.connections > 1 and stats.refused == 0 and stats.acked == stats.made, stats
        t = panel.wait_trace_ended(trace.id)
        assert panel.spans_of(t)[0].appends == tokens
        panel.check_clean()
    finally:
        runtime.stop()


def _circular() -> list:
    a: list = []
    a.append(a)
    return a


def test_flush_and_close_say_when_events_are_lost() -> None:
    tracer = Tracer.connect(f"ws://127.0.0.1:{free_port()}/v1/ingest", lazy=True, max_backoff=0.1)
    tracer.trace("never delivered").end()
    with pytest.raises(TimeoutError, match="2 of 2 events not acknowledged"):
        tracer.flush(0.2)
    with pytest.raises(TimeoutError, match="2 events were not acknowledged .* lost"):
        tracer.close(0.2)
    tracer.close()  # closing again does nothing


def test_the_package_is_typed_and_documented() -> None:
    assert (Path(user_trace.__file__).parent / "py.typed").is_file()
    for name in user_trace.__all__:
        obj = getattr(user_trace, name)
        if name != "__version__":
            assert obj.__doc__, name
    for cls in (user_trace.Tracer, user_trace.Trace, user_trace.Span):
        for attr, member in vars(cls).items():
            if callable(member) and not attr.startswith("_"):
                assert getattr(member, "__doc__", None), f"{cls.__name__}.{attr} has no docstring"


def test_a_runtime_of_another_version_is_refused_with_close_4000(loop: LoopThread) -> None:
    """PROTOCOL.md: a client refuses another protocol version with close code 4000 and a reason
    naming both. The server is a real WebSocket server on loopback speaking version 2."""
    import websockets

    closes: "asyncio.Queue[tuple]" = asyncio.Queue()

    async def speak_v2(ws: Any) -> None:
        await ws.send('{"type":"hello","protocol":2,"session":"s","server":"future/2"}')
        try:
            async for _ in ws:
                pass
        except websockets.exceptions.ConnectionClosed:
            pass
        await closes.put((ws.close_code, ws.close_reason))

    port = free_port()
    async def start() -> Any:
        return await websockets.serve(speak_v2, "127.0.0.1", port)

    server = loop.run(start())
    try:
        with pytest.raises(ConnectError, match=r"speaks protocol 2, this package speaks 1"):
            Tracer.connect(f"ws://127.0.0.1:{port}/v1/ingest")
        code, reason = loop.run(asyncio.wait_for(closes.get(), WAIT))
        assert code == 4000, (code, reason)
        assert "protocol 2" in reason
    finally:
        server.close()
        loop.run(server.wait_closed())
