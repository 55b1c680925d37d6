"""A small program instrumented with the OpenTelemetry SDK and the GenAI semantic conventions,
exporting over OTLP/HTTP (protobuf) to wherever OTEL_EXPORTER_OTLP_ENDPOINT points, with the
headers of OTEL_EXPORTER_OTLP_HEADERS (the runtime's token). No model is called: the spans carry
what an instrumented LLM client would record.

    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4700 python genai_program.py

The runtime's test `a_real_instrumented_python_program_shows_as_its_tree`
(crates/runtime/tests/otlp.rs) runs it and checks what a panel shows. It exits 1 when an
export failed.
"""

import json
import os
import sys

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind

results = []


class CheckedExporter(OTLPSpanExporter):
    """The OTLP/HTTP exporter, remembering whether each export succeeded."""

    def export(self, spans):
        result = super().export(spans)
        results.append(result)
        return result


def messages(items):
    return json.dumps(items, ensure_ascii=False)


def chat(tracer, input_messages, output_messages, usage, finish):
    with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.provider.name", "openai")
        span.set_attribute("gen_ai.request.model", "gpt-4o")
        span.set_attribute("gen_ai.response.model", "gpt-4o-2024-08-06")
        span.set_attribute("gen_ai.input.messages", messages(input_messages))
        span.set_attribute("gen_ai.output.messages", messages(output_messages))
        span.set_attribute("gen_ai.usage.input_tokens", usage[0])
        span.set_attribute("gen_ai.usage.output_tokens", usage[1])
        span.set_attribute("gen_ai.response.finish_reasons", [finish])


def tool(tracer, name, call_id, arguments, result=None, error=None):
    with tracer.start_as_current_span(f"execute_tool {name}") as span:
        span.set_attribute("gen_ai.operation.name", "execute_tool")
        span.set_attribute("gen_ai.tool.name", name)
        span.set_attribute("gen_ai.tool.call.id", call_id)
        span.set_attribute("gen_ai.tool.call.arguments", json.dumps(arguments))
        if error is not None:
            # Recorded as an `exception` event, and the span's status set to error.
            raise error
        span.set_attribute("gen_ai.tool.call.result", json.dumps(result))


def legacy_chat(tracer):
    """The older indexed attributes (OpenLLMetry), with near misses: an index gap (no prompt 1),
    a role the protocol does not name, and a message list that is not JSON."""
    with tracer.start_as_current_span("chat legacy", kind=SpanKind.CLIENT) as span:
        span.set_attribute("gen_ai.prompt.0.role", "user")
        span.set_attribute("gen_ai.prompt.0.content", "Summarize the forecast.")
        span.set_attribute("gen_ai.prompt.2.role", "critic")
        span.set_attribute("gen_ai.prompt.2.content", "Keep it short.")
        span.set_attribute("gen_ai.completion.0.role", "assistant")
        span.set_attribute("gen_ai.completion.0.content", "Mild, then rain.")
        span.set_attribute("gen_ai.output.messages", '[{"role": "assistant", "parts": [')


def main():
    resource = Resource.create(
        {
            "service.name": "genai-program",
            "host.name": "test-host",
            "process.pid": os.getpid(),
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(CheckedExporter()))
    tracer = provider.get_tracer("genai_program")

    system = {"role": "system", "parts": [{"type": "text", "content": "Answer with tools."}]}
    user = {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}
    call = {
        "role": "assistant",
        "parts": [
            {
                "type": "tool_call",
                "id": "call_1",
                "name": "get_weather",
                "arguments": {"city": "Paris"},
            }
        ],
        "finish_reason": "tool_calls",
    }
    with tracer.start_as_current_span("answer question") as root:
        root.set_attribute("question", "Weather in Paris?")
        chat(tracer, [system, user], [call], (31, 9), "tool_calls")
        tool(tracer, "get_weather", "call_1", {"city": "Paris"}, result={"temp_c": 21})
        try:
            tool(
                tracer,
                "get_forecast",
                "call_2",
                {"city": "Paris", "days": 3},
                error=TimeoutError("forecast service timed out"),
            )
        except TimeoutError:
            pass
        result = {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call_1", "response": {"temp_c": 21}}],
        }
        answer = {
            "role": "assistant",
            "parts": [{"type": "text", "content": "It is 21 °C in Paris."}],
            "finish_reason": "stop",
        }
        chat(tracer, [system, user, call, result], [answer], (52, 11), "stop")
        legacy_chat(tracer)

    provider.shutdown()  # flushes the batch
    if not results or any(r != SpanExportResult.SUCCESS for r in results):
        print(f"export failed: {results}", file=sys.stderr)
        return 1
    print(f"exported in {len(results)} request(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
