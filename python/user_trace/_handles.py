"""Handles to a trace and a span: each method sends one event.

Both are context managers, for ``with`` and ``async with``: leaving the block ends the trace
or span, with an error status when an exception leaves it (a trace also gets an error span
with the exception's type and traceback). Ending is otherwise explicit (:meth:`Trace.end`,
:meth:`Span.end`); a second end sends nothing (the first end counts).
"""

import logging
import traceback
from typing import TYPE_CHECKING, Any, Iterable, List, Optional, Tuple

from . import _encode
from ._encode import ItemsLike

if TYPE_CHECKING:
    from ._tracer import Tracer

log = logging.getLogger("user_trace")

_MISSING: Any = object()
_REPORTED = "__user_trace_reported__"


def _exception_message(exc: BaseException) -> str:
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


class Trace:
    """A trace being written: make spans in it, then end it."""

    __slots__ = ("_tracer", "id", "name", "_ended", "_span_source")

    def __init__(self, tracer: "Tracer", trace_id: str, name: str) -> None:
        self._tracer = tracer
        self.id = trace_id
        """The trace's id: give it to another process to :meth:`Tracer.join_trace`."""
        self.name = name
        self._ended = False
        self._span_source: Optional[str] = None

    @classmethod
    def _start(
        cls, tracer: "Tracer", name: str, parent_span: Optional[str], source: Optional[str] = None
    ) -> "Trace":
        name = _encode.label(name, "the trace name")
        if source is not None:
            source = _encode.label(source, "the trace source")
        trace_id = tracer._new_id()
        tracer._send(
            "trace_start",
            [("trace", trace_id), ("name", name), ("parent_span", parent_span), ("source", source)],
            f"trace {name!r}",
        )
        return cls(tracer, trace_id, name)

    def at(self, source: str) -> "Trace":
        """This trace, for spans that carry ``source``: the host's name for the part of the
        program that makes them (a node of a visual editor), handed back to the host when the
        reader activates the span (protocol 1.2). ``trace.at("node-7").text("answer")``."""
        other = Trace(self._tracer, self.id, self.name)
        other._span_source = _encode.label(source, "the span source")
        return other

    @classmethod
    def _join(cls, tracer: "Tracer", trace_id: str, name: str) -> "Trace":
        trace_id = _encode.label(trace_id, "the trace id")
        name = _encode.label(name, "the trace name")
        tracer._send("trace_start", [("trace", trace_id), ("name", name)], f"trace {name!r}")
        return cls(tracer, trace_id, name)

    def _span(self, kind: str, title: Optional[str], content: _encode.Raw, what: str) -> "Span":
        span_id = self._tracer._new_id()
        self._tracer._send(
            "span_create",
            [
                ("trace", self.id),
                ("span", span_id),
                ("kind", kind),
                ("title", title),
                ("content", content),
                ("source", self._span_source),
            ],
            what,
        )
        return Span(self._tracer, span_id, kind, title)

    def text(self, title: str, initial: str = "") -> "Span":
        """A text span; stream into it with :meth:`Span.append`, then end it."""
        title = _encode.label(title, "the span title")
        initial = _encode.text(initial, f"the initial text of span {title!r}")
        what = f"text span {title!r}"
        span = self._span("text", title, _encode.value(initial, what), what)
        span._count(initial)
        return span

    def markdown(self, title: str, initial: str = "") -> "Span":
        """A markdown span (raw HTML in it is shown as text); stream into it with
        :meth:`Span.append`, then end it."""
        title = _encode.label(title, "the span title")
        initial = _encode.text(initial, f"the initial text of span {title!r}")
        what = f"markdown span {title!r}"
        span = self._span("markdown", title, _encode.value(initial, what), what)
        span._count(initial)
        return span

    def json(self, title: str, value: Any) -> "Span":
        """A JSON span, shown as a collapsible tree (keys in the order of the dict).

        :raises TypeError: ``value`` is not JSON-serializable (a set, an object...).
        :raises ValueError: it holds NaN or an infinity, or a circular reference.
        """
        title = _encode.label(title, "the span title")
        what = f"the value of JSON span {title!r}"
        return self._span("json", title, _json_content(value, what), what)

    def json_text(self, title: str, text: str) -> "Span":
        """A JSON span from JSON text, kept exactly as given (key order, number text).

        :raises ValueError: the text is not one valid JSON value.
        """
        title = _encode.label(title, "the span title")
        what = f"the JSON text of span {title!r}"
        return self._span("json", title, _json_raw(_encode.json_text(text, what), what), what)

    def messages(self, title: str, messages: Iterable[Any] = ()) -> "Span":
        """A conversation (``messages`` span): add messages with :meth:`Span.add_messages` and
        stream the last one with :meth:`Span.append_message`. Messages are mappings in the
        protocol's shape (see :func:`user_trace.message`).

        :raises TypeError, ValueError: a message without a role, of the wrong shape, or not JSON.
        """
        title = _encode.label(title, "the span title")
        what = f"the messages of span {title!r}"
        listed = _encode.message_list(messages, what)
        span = self._span("messages", title, _encode.messages(listed, what), what)
        span._messages = len(listed)
        if listed:
            span._text_bytes = _encode.message_text_bytes(listed[-1])
        return span

    def json_stream(self, title: str) -> "Span":
        """A JSON span whose document arrives in pieces: send them with
        :meth:`Span.append_json` (raw JSON text, cut anywhere), then :meth:`Span.finish_json`
        (or end the span). The panel shows the partial document as a tree meanwhile."""
        title = _encode.label(title, "the span title")
        what = f"JSON span {title!r}"
        span = self._span("json", title, _encode.Raw("null"), what)
        span._streaming = True
        return span

    def items(self, title: str, items: ItemsLike = ()) -> "Span":
        """A name-value span, shown as a table: a mapping, or ``(name, value)`` pairs whose
        values are any JSON (objects and arrays show as inline trees)."""
        title = _encode.label(title, "the span title")
        what = f"the items of span {title!r}"
        return self._span("items", title, _encode.items(items, what), what)

    def error(self, message: str, details: Any = _MISSING) -> "Span":
        """An error span: a message, and optional details (any JSON)."""
        message = _encode.text(message, "the error message")
        what = f"error span {message[:60]!r}"
        content = '{"message":' + _encode.value(message, what).text
        if details is not _MISSING:
            content += ',"details":' + _encode.value(details, f"the details of {what}").text
        return self._span("error", None, _encode.Raw(content + "}"), what)

    def span(self, kind: str, title: Optional[str], content: Any) -> "Span":
        """A span of any kind, ``content`` as the protocol reads it for that kind (a kind the
        panel does not know is shown as generic JSON)."""
        kind = _encode.label(kind, "the span kind")
        title = _encode.optional_label(title, "the span title")
        what = f"{kind} span {title!r}"
        return self._span(kind, title, _encode.value(content, f"the content of {what}"), what)

    def end(self) -> None:
        """Ends the trace successfully (its spans are not ended by it)."""
        self._end(None)

    def end_error(self, message: str) -> None:
        """Ends the trace with an error."""
        self._end(_encode.text(message, "the error message"))

    def _end(self, error: Optional[str]) -> None:
        if self._ended:
            return
        fields: List[Tuple[str, Any]] = [("trace", self.id)]
        fields += [("status", "ok")] if error is None else [("status", "error"), ("message", error)]
        self._tracer._send("trace_end", fields, f"the end of trace {self.name!r}")
        self._ended = True

    @property
    def ended(self) -> bool:
        """Whether this handle ended the trace."""
        return self._ended

    def _exit(self, exc: Optional[BaseException]) -> None:
        if exc is None:
            self.end()
            return
        message = _exception_message(exc)
        try:
            # The innermost trace that sees the exception shows where it came from.
            if not getattr(exc, _REPORTED, False):
                details = {
                    "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
                    "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
                }
                self.error(message, details)
                try:
                    setattr(exc, _REPORTED, True)
                except AttributeError:
                    pass
            self.end_error(message)
        except Exception:
            log.warning("user-trace: could not end trace %r after an exception", self.name, exc_info=True)

    def __enter__(self) -> "Trace":
        return self

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        self._exit(exc)

    async def __aenter__(self) -> "Trace":
        return self

    async def __aexit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        self._exit(exc)

    def __repr__(self) -> str:
        return f"<Trace {self.name!r} {self.id}>"


def _json_content(value: Any, what: str) -> _encode.Raw:
    raw = _encode.value(value, what)
    return _json_raw(raw, what)


def _json_raw(raw: _encode.Raw, what: str) -> _encode.Raw:
    too_big = len(raw.text) * 4 > _encode.MAX_JSON_BYTES
    if too_big and len(raw.text.encode("utf-8", "surrogatepass")) > _encode.MAX_JSON_BYTES:
        raise ValueError(f"{what} is over the runtime's limit of {_encode.MAX_JSON_BYTES} bytes of JSON")
    return raw


class Span:
    """A span being written: append to it (text, markdown), replace its content or set its
    items, nest child traces in it, then end it."""

    __slots__ = (
        "_tracer",
        "id",
        "kind",
        "title",
        "_ended",
        "_text_bytes",
        "_messages",
        "_streaming",
        "_json_done",
    )

    def __init__(self, tracer: "Tracer", span_id: str, kind: str, title: Optional[str]) -> None:
        self._tracer = tracer
        self.id = span_id
        self.kind = kind
        self.title = title
        self._ended = False
        self._text_bytes = 0
        self._messages = 0
        self._streaming = False
        self._json_done = False

    def _name(self) -> str:
        return f"{self.kind} span {self.title!r}"

    def _count(self, text: str) -> None:
        n = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        if self._text_bytes + n > _encode.MAX_TEXT_BYTES:
            raise ValueError(
                f"{self._name()} would hold more than the runtime's limit of "
                f"{_encode.MAX_TEXT_BYTES} bytes of text"
            )
        self._text_bytes += n

    def append(self, text: str) -> None:
        """Appends text (text and markdown spans): the streaming case, one call a token.

        :raises RuntimeError: the span has ended (text cannot be appended to it).
        :raises TypeError: the span is not a text or markdown span, or ``text`` is not a str.
        """
        if self.kind not in ("text", "markdown"):
            raise TypeError(f"append is for text and markdown spans; {self._name()} is {self.kind}")
        text = _encode.text(text, f"text appended to {self._name()}")
        if self._ended:
            raise RuntimeError(f"{self._name()} has ended: text cannot be appended to it")
        before = self._text_bytes
        self._count(text)
        try:
            self._tracer._send(
                "text_append", [("span", self.id), ("text", text)], f"append to {self._name()}"
            )
        except BaseException:
            self._text_bytes = before
            raise

    def replace(self, content: Any) -> None:
        """Replaces the content, read according to the span's kind: a str for text and
        markdown, any JSON for json, ``{"message", "details"}`` for error."""
        what = f"the new content of {self._name()}"
        if self.kind in ("text", "markdown"):
            content = _encode.text(content, what)
            raw = _encode.value(content, what)
        elif self.kind == "json":
            raw = _json_content(content, what)
        elif self.kind == "items":
            raw = _encode.items(content, what)
        else:
            raw = _encode.value(content, what)
        self._tracer._send("content_replace", [("span", self.id), ("content", raw)], what)
        if self.kind in ("text", "markdown"):
            self._text_bytes = 0
            self._count(content)

    def replace_json(self, value: Any) -> None:
        """Replaces the value of a JSON span."""
        if self.kind != "json":
            raise TypeError(f"replace_json is for json spans; {self._name()} is {self.kind}")
        self.replace(value)

    def set_items(self, items: ItemsLike) -> None:
        """Sets items of a name-value span: one with the same name is replaced in place, the
        others are appended."""
        self._items("items_set", items)

    def add_items(self, items: ItemsLike) -> None:
        """Appends items to a name-value span, even when a name repeats."""
        self._items("items_add", items)

    def _items(self, op: str, items: ItemsLike) -> None:
        if self.kind != "items":
            raise TypeError(f"{op} is for items spans; {self._name()} is {self.kind}")
        what = f"the items for {self._name()}"
        self._tracer._send(op, [("span", self.id), ("items", _encode.items(items, what))], what)

    def add_messages(self, messages: Iterable[Any]) -> None:
        """Appends messages to a conversation (mappings in the protocol's shape).

        :raises TypeError: the span is not a ``messages`` span, or a message has the wrong shape.
        :raises ValueError: a message has no role, or is not JSON.
        """
        if self.kind != "messages":
            raise TypeError(f"add_messages is for messages spans; {self._name()} is {self.kind}")
        what = f"the messages for {self._name()}"
        listed = _encode.message_list(messages, what)
        self._tracer._send(
            "messages_add", [("span", self.id), ("messages", _encode.messages(listed, what))], what
        )
        self._messages += len(listed)
        if listed:
            self._text_bytes = _encode.message_text_bytes(listed[-1])

    def append_message(self, text: str) -> None:
        """Appends text to the last message of a conversation: the streaming case, one call a
        token.

        :raises RuntimeError: the span has ended, or holds no message yet.
        :raises TypeError: the span is not a ``messages`` span, or ``text`` is not a str.
        """
        if self.kind != "messages":
            raise TypeError(f"append_message is for messages spans; {self._name()} is {self.kind}")
        text = _encode.text(text, f"text appended to {self._name()}")
        if self._ended:
            raise RuntimeError(f"{self._name()} has ended: text cannot be appended to it")
        if self._messages == 0:
            raise RuntimeError(f"{self._name()} holds no message yet: add one with add_messages")
        before = self._text_bytes
        self._count(text)
        try:
            self._tracer._send(
                "message_append", [("span", self.id), ("text", text)], f"append to {self._name()}"
            )
        except BaseException:
            self._text_bytes = before
            raise

    def append_json(self, text: str) -> None:
        """Appends a piece of a streamed JSON document (raw JSON text; it may end anywhere,
        even inside a string).

        :raises TypeError: the span was not made with :meth:`Trace.json_stream`, or ``text``
            is not a str.
        :raises RuntimeError: the document is finished or the span has ended.
        :raises ValueError: the document would be over the runtime's limit.
        """
        self._json_piece(text, False)

    def finish_json(self) -> None:
        """Says the streamed JSON document is complete: the panel validates it (ending the
        span does too). A second call sends nothing."""
        if self._json_done and self._streaming:
            return
        self._json_piece("", True)

    def _json_piece(self, text: str, done: bool) -> None:
        if not self._streaming:
            raise TypeError(f"append_json is for spans made with json_stream; {self._name()} is not")
        text = _encode.text(text, f"JSON text appended to {self._name()}")
        if self._ended:
            raise RuntimeError(f"{self._name()} has ended: its JSON is complete")
        if self._json_done:
            raise RuntimeError(f"the JSON of {self._name()} is finished")
        n = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        if self._text_bytes + n > _encode.MAX_JSON_BYTES:
            raise ValueError(
                f"{self._name()} would hold more than the runtime's limit of {_encode.MAX_JSON_BYTES} bytes of JSON"
            )
        fields: List[Tuple[str, Any]] = [("span", self.id), ("text", text)]
        if done:
            fields.append(("done", _encode.Raw("true")))
        self._tracer._send("json_append", fields, f"JSON for {self._name()}")
        self._text_bytes += n
        self._json_done = done

    def child_trace(self, name: str) -> Trace:
        """Starts a child trace nested in this span (a tool call, a sub-step)."""
        return Trace._start(self._tracer, name, self.id)

    def end(self) -> None:
        """Ends the span successfully (a text span is then complete)."""
        self._end(None)

    def end_error(self, message: str) -> None:
        """Ends the span with an error."""
        self._end(_encode.text(message, "the error message"))

    def _end(self, error: Optional[str]) -> None:
        if self._ended:
            return
        fields: List[Tuple[str, Any]] = [("span", self.id)]
        fields += [("status", "ok")] if error is None else [("status", "error"), ("message", error)]
        self._tracer._send("span_end", fields, f"the end of {self._name()}")
        self._ended = True

    @property
    def ended(self) -> bool:
        """Whether this handle ended the span."""
        return self._ended

    def _exit(self, exc: Optional[BaseException]) -> None:
        if exc is None:
            self.end()
            return
        try:
            self.end_error(_exception_message(exc))
        except Exception:
            log.warning("user-trace: could not end %s after an exception", self._name(), exc_info=True)

    def __enter__(self) -> "Span":
        return self

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        self._exit(exc)

    async def __aenter__(self) -> "Span":
        return self

    async def __aexit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        self._exit(exc)

    def __repr__(self) -> str:
        return f"<Span {self.kind} {self.title!r} {self.id}>"
