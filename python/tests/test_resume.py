"""Cut connections, error replies and several URLs: nothing lost, nothing doubled."""

import json
import logging
import time

import pytest

from support import STORE_ERROR, WAIT, LoopThread, Panel, Runtime, TcpProxy, WsProxy, event_ids
from user_trace import Tracer


def stream(tracer: Tracer, title: str, tokens: list, pace: float = 0.0003) -> str:
    """A trace with one text span that streams `tokens`, paced so that it spans many batches."""
    with tracer.trace(title) as trace:
        with trace.text("answer") as answer:
            for i, t in enumerate(tokens):
                answer.append(t)
                if i % 10 == 0:
                    time.sleep(pace * 10)
    return trace.id


def assert_complete(panel: Panel, trace_id: str, tokens: list) -> None:
    t = panel.wait_trace_ended(trace_id)
    (span,) = panel.spans_of(t)
    # Every append exactly once, in order: a lost batch leaves a hole, a batch resent with
    # new ids would show twice (the runtime drops only what it already holds by id).
    assert span.appends == tokens
    assert span.status == "ok" and t.status == "ok"
    panel.check_clean()


def test_cut_connections_resume_without_loss_or_doubles(
    runtime: Runtime, panel: Panel, loop: LoopThread
) -> None:
    proxy = TcpProxy(loop, runtime.port)
    # A batch on its way to the runtime is dropped (it never arrives: it must be resent),
    # then an ack on its way back (the runtime has the batch: the resend must be dropped as
    # a duplicate, not shown twice), then another batch.
    proxy.cut_after("up", 30_000)
    proxy.cut_after("down", 3_000)
    proxy.cut_after("up", 90_000)
    tokens = [f"t{i} " for i in range(3000)]
    tracer = Tracer.connect(proxy.url, token=runtime.token, process="cut")
    trace_id = stream(tracer, "through a cut", tokens)
    tracer.close(WAIT)
    stats = tracer.stats()

    assert sorted(proxy.fired) == sorted([("up", 30_000), ("down", 3_000), ("up", 90_000)]), proxy.fired
    assert stats.connections >= 4 and proxy.connections >= 4, (stats, proxy.connections)
    assert stats.resent > 0 and stats.acked == stats.made and stats.refused == 0, stats
    assert_complete(panel, trace_id, tokens)


def test_next_url_after_a_failure(runtime: Runtime, panel: Panel, loop: LoopThread) -> None:
    # The first URL is a proxy that goes away for good mid-stream, dropping an ack: the
    # tracer moves on to the second (the runtime itself) and resends there what the first
    # did not acknowledge.
    proxy = TcpProxy(loop, runtime.port, die_on_cut=True)
    proxy.cut_after("down", 2_000)
    tokens = [f"u{i} " for i in range(2000)]
    tracer = Tracer.connect(f"{proxy.url}, {runtime.ingest_url}", token=runtime.token, process="failover")
    trace_id = stream(tracer, "two URLs", tokens)
    tracer.close(WAIT)
    stats = tracer.stats()
    assert proxy.fired == [("down", 2_000)] and proxy.connections == 1
    assert stats.connections == 2 and stats.resent > 0 and stats.acked == stats.made, stats
    assert_complete(panel, trace_id, tokens)

    # A dead first URL from the start: the second is used.
    with Tracer.connect(f"{proxy.url},{runtime.ingest_url}", token=runtime.token) as second:
        trace_id = stream(second, "second URL", ["only ", "this"])
    assert_complete(panel, trace_id, ["only ", "this"])


def test_error_replies_resend_from_the_oldest_unacknowledged(
    runtime: Runtime, panel: Panel, loop: LoopThread, caplog: pytest.LogCaptureFixture
) -> None:
    # Message 3 is refused before the runtime sees it; message 8's ack is replaced by an
    # error after the runtime stored it.
    proxy = WsProxy(loop, runtime.ingest_url, runtime.token, {3: "refuse", 8: "store_then_refuse"})
    tokens = [f"e{i} " for i in range(600)]
    caplog.set_level(logging.WARNING, logger="user_trace")
    tracer = Tracer.connect(proxy.url, token=runtime.token, process="refused", batch_events=20)
    trace_id = stream(tracer, "through errors", tokens, pace=0.001)
    tracer.close(WAIT)
    stats = tracer.stats()

    by_number = {n: (conn, text) for conn, n, text in proxy.records}
    for refused in (3, 8):
        conn, text = by_number[refused]
        # The first message of the next connection is the refused batch, the same events
        # with the same ids (a batch sent after it on the old connection comes after it).
        later = [(c, n, t) for c, n, t in proxy.records if c > conn]
        assert later, f"nothing was sent after the error reply to message {refused}"
        first_conn = later[0][0]
        first = [t for c, n, t in later if c == first_conn][0]
        assert event_ids(first) == event_ids(text), (refused, event_ids(first)[:3], event_ids(text)[:3])
    assert stats.connections == proxy.connections == 3, (stats, proxy.connections)
    assert stats.resent >= 2 and stats.acked == stats.made and stats.refused == 0, stats
    assert sum(STORE_ERROR in r.getMessage() for r in caplog.records) == 2
    assert_complete(panel, trace_id, tokens)


def test_refused_events_are_counted_and_logged(
    runtime: Runtime, panel: Panel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="user_trace")
    with Tracer.connect(runtime.ingest_url, token=runtime.token, process="bridge") as tracer:
        # A forwarded event that the runtime refuses: an append to a span it does not know.
        tracer.send_event(
            {
                "id": "x-1",
                "process": tracer.process,
                "ts": 1,
                "op": "text_append",
                "span": "nope",
                "text": "lost",
            }
        )
        trace = tracer.trace("after a refusal")
        trace.end()
        tracer.flush(WAIT)
        stats = tracer.stats()
        assert stats.refused == 1 and stats.acked == stats.made, stats
        (refusal,) = tracer.refusals
        assert refusal.id == "x-1" and "nope" in refusal.reason
        assert any("x-1" in r.getMessage() and "nope" in r.getMessage() for r in caplog.records)
    assert panel.wait_trace_ended(trace.id).status == "ok"


def test_wire_format_of_a_batch(runtime: Runtime, loop: LoopThread) -> None:
    # What goes on the wire, read back as JSON: one `events` message of flat events, each
    # with id, process, ts (microseconds) and op, as docs/PROTOCOL.md says.
    proxy = WsProxy(loop, runtime.ingest_url, runtime.token, {})
    before = time.time_ns() // 1000
    with Tracer.connect(proxy.url, token=runtime.token, process="wire", batch_time=0.2) as tracer:
        with tracer.trace("t") as trace:
            with trace.text("s", "a") as span:
                span.append("b")
    (conn, n, text) = proxy.records[0]
    message = json.loads(text)
    assert list(message) == ["type", "events"] and message["type"] == "events"
    ops = [e["op"] for e in message["events"]]
    assert ops == ["trace_start", "span_create", "text_append", "span_end", "trace_end"]
    for e in message["events"]:
        assert e["process"] == tracer.process and isinstance(e["id"], str)
        assert before <= e["ts"] <= time.time_ns() // 1000
    assert len({e["id"] for e in message["events"]}) == 5
    start, create, append, span_end, trace_end = message["events"]
    assert start == {**start, "trace": trace.id, "name": "t"} and "parent_span" not in start
    assert create == {
        **create,
        "trace": trace.id,
        "span": span.id,
        "kind": "text",
        "title": "s",
        "content": "a",
    }
    assert append == {**append, "span": span.id, "text": "b"}
    assert span_end == {**span_end, "span": span.id, "status": "ok"}
    assert trace_end == {**trace_end, "trace": trace.id, "status": "ok"}
    # Ids of traces and spans carry the tracer's random tag: unique across processes.
    assert trace.id.split("-")[0] == span.id.split("-")[0] and len(trace.id.split("-")[0]) == 16
