"""One writer process of the two-process test: joins a trace and streams a text span.

usage: writer.py URL TOKEN TRACE_ID PROCESS_NAME TOKENS
Prints its process name (as the panel shows it) when done."""

import sys
import time

from user_trace import Tracer


def main() -> None:
    url, token, trace_id, name, count = sys.argv[1:6]
    with Tracer.connect(url, token=token, process=name) as tracer:
        trace = tracer.join_trace(trace_id, "shared work")
        with trace.text(f"from {name}") as span:
            for i in range(int(count)):
                span.append(f"{name}:{i} ")
                if i % 20 == 0:
                    time.sleep(0.001)  # interleave with the other writer
        trace.items(f"{name} done", {"tokens": int(count)})
    print(tracer.process)


if __name__ == "__main__":
    main()
