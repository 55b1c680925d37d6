"""Streaming into a real runtime, from sync and asyncio code, as a panel sees it."""

import asyncio
import re
import socket
import time

import pytest

from support import Panel, Runtime, WAIT
from user_trace import Tracer


def test_streamed_appends_arrive_in_order_and_complete(runtime: Runtime, panel: Panel) -> None:
    tokens = [f"tok{i} " for i in range(1500)] + ["ünïcödé ✓ \n", "\u202eRLO", "😀"]
    with Tracer.connect(runtime.ingest_url, token=runtime.token, process="streamer") as tracer:
        assert re.fullmatch(rf"streamer@{re.escape(socket.gethostname())}:\d+", tracer.process)
        with tracer.trace("Answer a question") as trace:
            prompt = trace.markdown("prompt", "# Question\n")
            prompt.append("What is *2 + 2*?")
            prompt.end()
            with trace.text("answer") as answer:
                for t in tokens:
                    answer.append(t)
            trace.json("response", {"z": 1, "a": [1.5, None, True, "x"], "nested": {"k": {}}})
            usage = trace.items("usage", {"prompt_tokens": 12, "model": "m-1"})
            usage.set_items([("prompt_tokens", 13), ("total", {"n": 25})])
            usage.add_items([("total", 26)])
            trace.error("rate limited", {"retry_after": 2})
            with trace.text("tool call") as tool:
                with tool.child_trace("search") as child:
                    child.json("arguments", ["q", 1])
    stats = tracer.stats()
    # Closing waited for every acknowledgement.
    assert stats.acked == stats.made and stats.refused == 0, stats
    # Batched: far fewer messages than events.
    assert stats.batches < stats.made / 5, stats

    t = panel.wait_trace_ended(trace.id)
    assert t.status == "ok" and t.processes == [tracer.process]
    spans = {s.title: s for s in panel.spans_of(t)}
    answer_view = spans["answer"]
    assert answer_view.appends == tokens  # every append, once, in order
    assert answer_view.text == "".join(tokens)
    assert answer_view.status == "ok"
    assert spans["prompt"].kind == "markdown" and spans["prompt"].text == "# Question\nWhat is *2 + 2*?"
    assert spans["response"].content == {"z": 1, "a": [1.5, None, True, "x"], "nested": {"k": {}}}
    assert list(spans["response"].content) == ["z", "a", "nested"]  # key order as sent
    assert spans["usage"].content == [
        {"name": "prompt_tokens", "value": 13},
        {"name": "model", "value": "m-1"},
        {"name": "total", "value": {"n": 25}},
        {"name": "total", "value": 26},
    ]
    errors = [s for s in panel.spans_of(t) if s.kind == "error"]
    assert [e.content for e in errors] == [{"message": "rate limited", "details": {"retry_after": 2}}]
    child = panel.wait_trace_ended(child.id)
    assert child.parent_span == spans["tool call"].id and child.status == "ok"
    assert [s.content for s in panel.spans_of(child)] == [["q", 1]]


def test_asyncio_use_and_exceptions_end_with_errors(runtime: Runtime, panel: Panel) -> None:
    async def main() -> Tracer:
        async with await Tracer.connect_async(
            runtime.ingest_url, token=runtime.token, process="async"
        ) as tracer:
            async with tracer.trace("ok trace") as ok:
                async with ok.text("answer") as answer:
                    for i in range(200):
                        answer.append(f"{i},")
                        if i % 50 == 0:
                            await asyncio.sleep(0)
            await tracer.flush_async(WAIT)
            assert tracer.stats().acked == tracer.stats().made
            with pytest.raises(ValueError, match="boom"):
                async with tracer.trace("failing trace") as failing:
                    async with failing.text("partial") as partial:
                        partial.append("half")
                        raise ValueError("boom")
            main.ids = (ok.id, failing.id)  # type: ignore[attr-defined]
        return tracer

    tracer = asyncio.run(asyncio.wait_for(main(), WAIT))
    ok_id, failing_id = main.ids  # type: ignore[attr-defined]
    ok = panel.wait_trace_ended(ok_id)
    assert ok.status == "ok"
    assert panel.spans_of(ok)[0].text == "".join(f"{i}," for i in range(200))

    failing = panel.wait_trace_ended(failing_id)
    assert failing.status == "error" and failing.message == "ValueError: boom"
    partial, error = panel.spans_of(failing)
    assert partial.text == "half" and partial.status == "error" and partial.message == "ValueError: boom"
    assert error.kind == "error" and error.content["message"] == "ValueError: boom"
    assert error.content["details"]["type"] == "builtins.ValueError"
    assert 'raise ValueError("boom")' in error.content["details"]["traceback"]
    assert failing.processes == [tracer.process]


def test_sync_tracer_used_from_asyncio_and_threads(runtime: Runtime, panel: Panel) -> None:
    import threading

    with Tracer.connect(runtime.ingest_url, token=runtime.token) as tracer:
        trace = tracer.trace("threads")
        spans = [trace.text(f"worker {w}") for w in range(4)]

        def work(w: int) -> None:
            for i in range(300):
                spans[w].append(f"{w}:{i} ")
            spans[w].end()

        threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(WAIT)

        async def from_asyncio() -> None:
            trace.items("done", {"workers": 4})
            await tracer.flush_async(WAIT)

        asyncio.run(from_asyncio())
        trace.end()
    t = panel.wait_trace_ended(trace.id)
    views = {s.title: s for s in panel.spans_of(t)}
    for w in range(4):
        assert views[f"worker {w}"].text == "".join(f"{w}:{i} " for i in range(300))
    assert views["done"].content == [{"name": "workers", "value": 4}]


def test_lazy_tracer_buffers_until_the_runtime_listens(runtime_bin: str, loop) -> None:  # type: ignore[no-untyped-def]
    from support import free_port

    port = free_port()
    token = "lazy-token"
    tracer = Tracer.connect(f"ws://127.0.0.1:{port}/v1/ingest", token=token, lazy=True)
    trace = tracer.trace("early")
    trace.text("buffered", "made before the runtime listened").end()
    trace.end()
    with pytest.raises(TimeoutError, match="not acknowledged"):
        tracer.flush(0.3)
    assert tracer.stats().acked == 0
    runtime = Runtime(runtime_bin, port=port, token=token)
    try:
        started = time.monotonic()
        tracer.flush(WAIT)
        assert time.monotonic() - started < WAIT
        panel = Panel(loop, runtime.panel_url, token)  # subscribes after: gets a snapshot
        t = panel.wait_trace_ended(trace.id)
        assert [s.text for s in panel.spans_of(t)] == ["made before the runtime listened"]
        tracer.close()
    finally:
        runtime.stop()
