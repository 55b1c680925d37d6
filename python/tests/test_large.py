"""Large messages go out in WebSocket fragments: the runtime's reader keeps a buffer of the
largest frame it read for the connection's life, so a message sent whole would stay resident
for as long as its producer stays connected."""

import time

from support import WAIT, Runtime
from user_trace import Tracer
from user_trace._connection import FRAGMENT_CHARS, frames


def resident_mib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS")


def test_a_long_message_is_cut_into_fragments_that_make_it_whole() -> None:
    assert frames("short") == "short"
    at_limit = "é" * FRAGMENT_CHARS
    assert frames(at_limit) == at_limit
    text = "a" * FRAGMENT_CHARS + "é€" + "b" * (2 * FRAGMENT_CHARS)
    parts = frames(text)
    assert isinstance(parts, list) and len(parts) == 4
    assert all(0 < len(p) <= FRAGMENT_CHARS for p in parts)
    assert "".join(parts) == text


def test_producers_that_sent_12_mb_hold_no_copy_of_it_in_the_runtime(runtime: Runtime) -> None:
    tracers = []
    for i in range(6):
        tracer = Tracer.connect(runtime.ingest_url, token=runtime.token, process=f"big {i}")
        with tracer.trace(f"t{i}") as trace:
            with trace.text("big", "x" * 12_000_000):
                pass
        tracer.flush(timeout=WAIT)
        tracers.append(tracer)
    time.sleep(0.3)
    connected = resident_mib(runtime.proc.pid)
    for tracer in tracers:
        tracer.close()
    time.sleep(0.8)
    closed = resident_mib(runtime.proc.pid)
    # Kept per connection, each would give back 12 MB on closing (72 in all).
    assert connected - closed < 24, f"6 connections held {connected - closed} MiB"
