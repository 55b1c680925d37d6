"""Traces and spans that carry the host's ``source`` (protocol 1.2), as a panel sees them."""

import pytest

from support import Panel, Runtime
from user_trace import Tracer


def test_traces_and_spans_carry_the_hosts_source(runtime: Runtime, panel: Panel) -> None:
    with Tracer.connect(runtime.ingest_url, token=runtime.token, process="editor") as tracer:
        with tracer.trace("Run", source="graph/node-1") as trace:
            trace.at("graph/node-7").text("answer", "hi").end()
            trace.text("plain").end()  # a near miss: no source
    t = panel.wait_trace_ended(trace.id)
    starts = [e for e in panel.events if e["op"] == "trace_start" and e["trace"] == t.id]
    assert starts[0]["source"] == "graph/node-1"
    creates = {e["title"]: e for e in panel.events if e["op"] == "span_create"}
    assert creates["answer"]["source"] == "graph/node-7"
    assert "source" not in creates["plain"]


def test_a_source_that_is_not_a_string_raises_in_the_caller(runtime: Runtime) -> None:
    with Tracer.connect(runtime.ingest_url, token=runtime.token, process="editor") as tracer:
        with pytest.raises(TypeError):
            tracer.trace("Run", source=7)  # type: ignore[arg-type]
        with tracer.trace("Run") as trace:
            with pytest.raises(TypeError):
                trace.at(None)  # type: ignore[arg-type]
