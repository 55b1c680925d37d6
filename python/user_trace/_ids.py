"""Process names and ids unique across processes and machines.

The process name carries the host and the pid (`name@host:pid`), so event ids, which the
runtime keys by `(process, id)`, need only be unique within the process. Trace and span ids
must be unique across every process writing to the runtime: each carries a random tag drawn
per tracer (64 bits), so two processes, two runs or two hosts never collide.
"""

import itertools
import os
import secrets
import socket
import sys
import time


def default_name() -> str:
    """The program's name: its script without `.py`, else `python`."""
    arg0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    name = os.path.basename(arg0)
    if name.endswith(".py"):
        name = name[:-3]
    if name in ("", "-c", "-m", "__main__"):
        return "python"
    return name


def process_name(name: str) -> str:
    """`name@host:pid`, as shown on the panel's process badges."""
    host = socket.gethostname().strip() or "localhost"
    return f"{name}@{host}:{os.getpid()}"


class Ids:
    """Fresh ids for events, traces and spans: `<tag>-<n>`."""

    def __init__(self) -> None:
        self.tag = secrets.token_hex(8)
        # next() of itertools.count is atomic under the GIL: safe from any thread.
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self.tag}-{next(self._counter)}"


def now_micros() -> int:
    """Microseconds since the Unix epoch."""
    return time.time_ns() // 1000
