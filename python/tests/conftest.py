"""Fixtures: the runtime binary (from $USER_TRACE_RUNTIME), a fresh runtime per test, a loop
thread for the panel and proxies, and a panel subscribed before the test streams."""

import os
from typing import Iterator

import pytest

from support import LoopThread, Panel, Runtime


@pytest.fixture(scope="session")
def runtime_bin() -> str:
    path = os.environ.get("USER_TRACE_RUNTIME")
    if not path or not os.path.isfile(path):
        pytest.fail(
            "USER_TRACE_RUNTIME must name the user-trace-runtime binary "
            f"(got {path!r}); `cargo xtask test --only python` sets it",
            pytrace=False,
        )
    return path


@pytest.fixture
def runtime(runtime_bin: str) -> Iterator[Runtime]:
    r = Runtime(runtime_bin)
    yield r
    r.stop()


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.stop()


@pytest.fixture
def panel(runtime: Runtime, loop: LoopThread) -> Iterator[Panel]:
    p = Panel(loop, runtime.panel_url, runtime.token)
    yield p
    p.check_clean()
