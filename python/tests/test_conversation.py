"""Conversations (``messages`` spans) and JSON documents streamed in pieces, from Python into a
real runtime, as a panel sees them; bad input raises in the caller."""

import json

import pytest

from support import Panel, Runtime
from user_trace import Tracer, message, tool_call, tool_result

ARGUMENTS = ['{"city": "Lis', 'bon", "days": 1, "fie', 'lds": ["temp", "rain"]', "}"]


def test_a_conversation_with_a_tool_call_streams_as_a_panel_sees_it(runtime: Runtime, panel: Panel) -> None:
    answer = ["It is ", "21 °C ", "and dry: ", "no umbrella.", " \u05e9\u05dc\u05d5\u05dd"]
    with Tracer.connect(runtime.ingest_url, token=runtime.token, process="chat") as tracer:
        with tracer.trace("Chat: weather") as trace:
            chat = trace.messages(
                "conversation",
                [
                    message("system", "Be brief."),
                    message("user", "Weather in Lisbon?", name="ana"),
                ],
            )
            with chat.child_trace("tool: weather") as tool:
                args = tool.json_stream("arguments")
                for piece in ARGUMENTS:
                    args.append_json(piece)
                args.finish_json()
                args.finish_json()  # a second finish sends nothing
                args.end()
            chat.add_messages(
                [
                    message(
                        "assistant",
                        tool_calls=[tool_call("weather", json.loads("".join(ARGUMENTS)), id="call_1")],
                    )
                ]
            )
            chat.add_messages([tool_result("call_1", '{"temp": 21}'), message("assistant")])
            for token in answer:
                chat.append_message(token)
            chat.end()
    assert tracer.stats().refused == 0, tracer.stats()

    t = panel.wait_trace_ended(trace.id)
    (view,) = panel.spans_of(t)
    assert view.kind == "messages" and view.status == "ok"
    roles = [m["role"] for m in view.content]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    assert view.content[1]["name"] == "ana"
    assert view.content[2]["tool_calls"] == [
        {
            "id": "call_1",
            "name": "weather",
            "arguments": {"city": "Lisbon", "days": 1, "fields": ["temp", "rain"]},
        }
    ]
    assert view.content[3]["tool_call_id"] == "call_1"
    assert view.appends == answer  # every token, once, in order
    assert view.content[4]["content"] == "".join(answer)
    child = panel.wait_trace_ended(tool.id)
    (arguments,) = panel.spans_of(child)
    assert arguments.appends == ARGUMENTS + [""], "in pieces, then done once"
    assert arguments.json_done and arguments.content == json.loads("".join(ARGUMENTS))


def test_bad_conversation_and_json_stream_input_raises_in_the_caller(runtime: Runtime, panel: Panel) -> None:
    with Tracer.connect(runtime.ingest_url, token=runtime.token, process="bad") as tracer:
        trace = tracer.trace("bad input")
        with pytest.raises(ValueError, match="needs a 'role'"):
            trace.messages("c", [{"content": "no role"}])
        with pytest.raises(ValueError, match="needs a 'role'"):
            trace.messages("c", [message("")])
        with pytest.raises(TypeError, match="must be a list of messages"):
            trace.messages("c", message("user", "not in a list"))  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="content must be a str or a list of parts"):
            trace.messages("c", [{"role": "user", "content": 7}])
        with pytest.raises(ValueError, match="each tool call needs a 'name'"):
            trace.messages("c", [message("assistant", tool_calls=[{"id": "x"}])])
        with pytest.raises(TypeError, match="not JSON-serializable"):
            trace.messages("c", [message("tool", [{"type": "blob", "data": {1, 2}}])])
        chat = trace.messages("c")
        with pytest.raises(RuntimeError, match="holds no message yet"):
            chat.append_message("lost")
        chat.add_messages([message("assistant")])
        with pytest.raises(TypeError, match="must be a str"):
            chat.append_message(3)  # type: ignore[arg-type]
        chat.append_message("ok")
        chat.end()
        with pytest.raises(RuntimeError, match="has ended"):
            chat.append_message("late")
        text = trace.text("t")
        with pytest.raises(TypeError, match="for messages spans"):
            text.append_message("x")
        with pytest.raises(TypeError, match="made with json_stream"):
            text.append_json("[")
        whole = trace.json("whole", [1])
        with pytest.raises(TypeError, match="made with json_stream"):
            whole.append_json("[")
        doc = trace.json_stream("doc")
        doc.append_json("[1, ")
        doc.finish_json()
        with pytest.raises(RuntimeError, match="is finished"):
            doc.append_json("2]")
        text.end()
        trace.end()
    # What was refused never left the process: the runtime refused nothing.
    assert tracer.stats().refused == 0, tracer.stats()
    t = panel.wait_trace_ended(trace.id)
    spans = {s.title: s for s in panel.spans_of(t)}
    assert spans["c"].content == [{"role": "assistant", "content": "ok"}]
    # A document cut short is kept as its text: the panel shows it with its error.
    assert spans["doc"].json_done and spans["doc"].json_text == "[1, "
