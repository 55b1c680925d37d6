"""Stream user traces from a Python program to a user-trace runtime, live into the panel.

Sync code::

    from user_trace import Tracer

    with Tracer.connect("ws://127.0.0.1:4700/v1/ingest") as tracer:
        with tracer.trace("Answer a question") as trace:
            with trace.text("answer") as answer:
                for token in ["Hello", ",", " world"]:
                    answer.append(token)
            trace.items("usage", {"tokens": 3})

asyncio code: ``async with await Tracer.connect_async(url) as tracer:`` and
``async with tracer.trace(...)``; the handles are the same.

A conversation with a model, and a tool call's arguments as the model streams them::

    chat = trace.messages("chat", [message("user", "Weather in Lisbon?")])
    args = trace.json_stream("arguments")
    for piece in ['{"city": "Lis', 'bon"}']:
        args.append_json(piece)
    args.finish_json()
    chat.add_messages([message("assistant", tool_calls=[tool_call("weather", {"city": "Lisbon"}, id="c1")]),
                       tool_result("c1", "21 °C"), message("assistant")])
    for token in ["It is ", "21 °C."]:
        chat.append_message(token)

Events are buffered and sent in batches by a background task (a thread of its own for
``connect``, a task on the caller's loop for ``connect_async``), which reconnects when the
runtime goes away and resends what was not acknowledged (the runtime drops duplicates), so
nothing it accepted is lost or doubled. Bad input (a value that is not JSON, a label over the
limit, text that is not Unicode) raises in the call that made it. Events the runtime refuses
are logged as warnings on the ``user_trace`` logger and counted in :meth:`Tracer.stats`.
"""

from ._connection import ConnectError, Refusal, Stats
from ._handles import Span, Trace
from ._messages import message, tool_call, tool_result
from ._tracer import Tracer

__version__ = "0.1.0"

__all__ = [
    "Tracer",
    "Trace",
    "Span",
    "Stats",
    "Refusal",
    "ConnectError",
    "message",
    "tool_call",
    "tool_result",
    "__version__",
]
