"""Two Python processes writing into one trace show in it with their process names."""

import subprocess
import sys
from pathlib import Path

from support import WAIT, Panel, Runtime
from user_trace import Tracer

WRITER = str(Path(__file__).with_name("writer.py"))


def test_two_processes_write_into_one_trace(runtime: Runtime, panel: Panel) -> None:
    n = 400
    with Tracer.connect(runtime.ingest_url, token=runtime.token, process="coordinator") as tracer:
        trace = tracer.trace("shared work")
        tracer.flush(WAIT)
        writers = [
            subprocess.Popen(
                [sys.executable, WRITER, runtime.ingest_url, runtime.token, trace.id, name, str(n)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("writer-a", "writer-b")
        ]
        names = []
        for w in writers:
            out, err = w.communicate(timeout=WAIT)
            assert w.returncode == 0, err
            names.append(out.strip())
        trace.end()

    assert names[0].startswith("writer-a@") and names[1].startswith("writer-b@")
    assert names[0] != names[1]  # host and pid tell them apart
    t = panel.wait_trace_ended(trace.id)
    assert sorted(t.processes) == sorted([tracer.process, *names])
    spans = {s.title: s for s in panel.spans_of(t)}
    for short, full in zip(("writer-a", "writer-b"), names):
        span = spans[f"from {short}"]
        assert span.process == full and span.writers == {full}
        assert span.text == "".join(f"{short}:{i} " for i in range(n))
        assert span.status == "ok"
        assert spans[f"{short} done"].content == [{"name": "tokens", "value": n}]
    # Span ids from the two processes never collided: each process made its own.
    assert len(spans) == 4


EXITS_WITHOUT_CLOSING = """
import sys
from user_trace import Tracer

url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tracer = Tracer.connect(url, token=token, process="quitter", batch_time=0.5)
trace = tracer.trace("left open")
span = trace.text("answer")
for i in range(n):
    span.append(f"{i} ")
print(trace.id)
# No close, no flush: the exit hook sends what is left before the interpreter ends.
"""


def test_a_process_that_exits_without_closing_loses_nothing(runtime: Runtime, panel: Panel) -> None:
    n = 300
    done = subprocess.run(
        [sys.executable, "-c", EXITS_WITHOUT_CLOSING, runtime.ingest_url, runtime.token, str(n)],
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 0, done.stderr
    trace_id = done.stdout.strip()
    panel.wait(lambda p: trace_id in p.traces and p.traces[trace_id].spans, "the trace of the exited process")
    span = panel.spans_of(panel.traces[trace_id])[0]
    panel.wait(lambda p: len(span.appends) == n, f"{n} appends")
    assert span.text == "".join(f"{i} " for i in range(n))
