"""Events as JSON text, made and checked in the caller's thread.

Everything the runtime would refuse for its shape (a value that is not JSON, NaN, a lone
surrogate, a label over the limit, an event over the message limit) raises here, in the call
that made it, instead of being lost later in the background.
"""

import json
from typing import Any, Iterable, List, Mapping, Optional, Tuple, Union

# The runtime's defaults (docs/PROTOCOL.md, crates/model/src/options.rs).
MAX_LABEL_BYTES = 4096
MAX_TEXT_BYTES = 64 << 20
MAX_JSON_BYTES = 64 << 20
MAX_ITEMS = 100_000

# `{"type":"events","events":[]}`: the envelope of a batch, around its events.
ENVELOPE_BYTES = len('{"type":"events","events":[]}')

_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), check_circular=True)

ItemsLike = Union[Mapping[str, Any], Iterable[Tuple[str, Any]]]


class Raw:
    """JSON text that goes into an event as it is (already checked)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def value(v: Any, what: str) -> Raw:
    """`v` as JSON text; a clear exception naming `what` when it cannot be JSON."""
    try:
        return Raw(_encoder.encode(v))
    except TypeError as e:
        raise TypeError(f"{what} is not JSON-serializable: {e}") from None
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply to be sent as JSON") from None
    except ValueError as e:
        # NaN and infinities (not JSON), circular references.
        hint = " (NaN and infinities are not JSON)" if "float" in str(e) else ""
        raise ValueError(f"{what} cannot be sent as JSON: {e}{hint}") from None


def json_text(text: str, what: str) -> Raw:
    """JSON text checked to be one valid JSON value (NaN and Infinity are not JSON)."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str of JSON text, not {type(text).__name__}")

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        json.loads(text, parse_constant=no_constant)
    except ValueError as e:
        raise ValueError(f"{what} is not valid JSON: {e}") from None
    return Raw(text.strip())


def label(s: Any, what: str) -> str:
    """A name, title or id: a str of at most MAX_LABEL_BYTES bytes of UTF-8."""
    if not isinstance(s, str):
        raise TypeError(f"{what} must be a str, not {type(s).__name__}")
    # Four bytes at most per character: short strings need no encoding to be measured.
    if len(s) * 4 > MAX_LABEL_BYTES:
        n = len(s.encode("utf-8", "surrogatepass"))
        if n > MAX_LABEL_BYTES:
            raise ValueError(f"{what} is {n} bytes of UTF-8, over the runtime's limit of {MAX_LABEL_BYTES}")
    return s


def text(s: Any, what: str) -> str:
    """A piece of span text: a str."""
    if not isinstance(s, str):
        raise TypeError(f"{what} must be a str, not {type(s).__name__}")
    return s


def items(values: ItemsLike, what: str) -> Raw:
    """Name-value pairs (a mapping, or pairs) as the protocol's item array."""
    if isinstance(values, Mapping):
        pairs: Iterable[Any] = values.items()
    elif isinstance(values, (str, bytes)):
        raise TypeError(f"{what} must be a mapping or (name, value) pairs, not {type(values).__name__}")
    else:
        pairs = values
    out: List[str] = []
    try:
        iterator = iter(pairs)
    except TypeError:
        raise TypeError(
            f"{what} must be a mapping or (name, value) pairs, not {type(values).__name__}"
        ) from None
    for pair in iterator:
        try:
            name, v = pair
        except (TypeError, ValueError):
            raise TypeError(f"{what}: each item must be a (name, value) pair, got {pair!r}") from None
        name = label(name, f"{what}: an item name")
        encoded_name = _encoder.encode(name)
        out.append('{"name":' + encoded_name + ',"value":' + value(v, f"{what}: item {name!r}").text + "}")
        if len(out) > MAX_ITEMS:
            raise ValueError(f"{what} has more than the runtime's limit of {MAX_ITEMS} items")
    return Raw("[" + ",".join(out) + "]")


class Event:
    """One event, encoded: its JSON text and its size in bytes."""

    __slots__ = ("text", "size")

    def __init__(self, text: str, size: int) -> None:
        self.text = text
        self.size = size


def event(
    event_id: str,
    process: str,
    ts: int,
    op: str,
    fields: List[Tuple[str, Any]],
    what: str,
    max_message_bytes: int,
) -> Event:
    """An event's JSON text: `fields` are str values (JSON strings), `Raw` JSON or None
    (left out). Raises ValueError when it is not valid Unicode or too big for one message."""
    parts = [
        '{"id":',
        _encoder.encode(event_id),
        ',"process":',
        _encoder.encode(process),
        ',"ts":',
        str(ts),
        ',"op":"',
        op,
        '"',
    ]
    for key, v in fields:
        if v is None:
            continue
        parts.append(',"' + key + '":')
        parts.append(v.text if isinstance(v, Raw) else _encoder.encode(v))
    parts.append("}")
    return checked("".join(parts), what, max_message_bytes)


def checked(s: str, what: str, max_message_bytes: int) -> Event:
    """An event's JSON text, checked to be Unicode and to fit in one message."""
    try:
        size = len(s.encode("utf-8"))
    except UnicodeEncodeError as e:
        bad = s[e.start : e.end]
        raise ValueError(
            f"{what}: the text holds {bad!r}, a lone surrogate, which is not Unicode and "
            "cannot be sent (decode bytes with errors='replace' first)"
        ) from None
    if size + 1 + ENVELOPE_BYTES > max_message_bytes:
        raise ValueError(
            f"{what}: the event is {size} bytes, over the message limit of "
            f"{max_message_bytes} bytes (the runtime's --max-message-bytes; the tracer's "
            "max_message_bytes)"
        )
    return Event(s, size)


def batch_message(events: List[Event]) -> str:
    """The `events` message of a batch."""
    return '{"type":"events","events":[' + ",".join(e.text for e in events) + "]}"


def optional_label(s: Optional[str], what: str) -> Optional[str]:
    return None if s is None else label(s, what)


def _text_bytes(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def message_text_bytes(m: Mapping[str, Any]) -> int:
    """Bytes of text in a message (checked by :func:`messages`): what `message_append` grows."""
    content = m.get("content")
    if isinstance(content, str):
        return _text_bytes(content)
    if isinstance(content, list) and content:
        last = content[-1]
        if isinstance(last, str):
            return _text_bytes(last)
        if isinstance(last, Mapping) and last.get("type") == "text" and isinstance(last.get("text"), str):
            return _text_bytes(last["text"])
    return 0


def _message(m: Any, what: str) -> str:
    if not isinstance(m, Mapping):
        raise TypeError(
            f"{what} must be a mapping like {{'role': 'user', 'content': 'Hi'}}, not {type(m).__name__}"
        )
    role = m.get("role")
    if not isinstance(role, str) or not role:
        raise ValueError(f"{what} needs a 'role' (a non-empty str: system, user, assistant or tool)")
    label(role, f"{what}: the role")
    optional_label(m.get("name"), f"{what}: the name")
    optional_label(m.get("tool_call_id"), f"{what}: the tool_call_id")
    content = m.get("content")
    if content is not None and not isinstance(content, (str, list)):
        raise TypeError(f"{what}: the content must be a str or a list of parts, not {type(content).__name__}")
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, (str, Mapping)):
                raise TypeError(f"{what}: a part must be a str or a mapping, not {type(part).__name__}")
    if message_text_bytes(m) > MAX_TEXT_BYTES:
        raise ValueError(f"{what}: its text is over the runtime's limit of {MAX_TEXT_BYTES} bytes")
    calls = m.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list):
            raise TypeError(f"{what}: tool_calls must be a list, not {type(calls).__name__}")
        for call in calls:
            if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
                raise ValueError(f"{what}: each tool call needs a 'name' (a str)")
            label(call["name"], f"{what}: a tool name")
            optional_label(call.get("id"), f"{what}: a tool call id")
    return value(m, what).text


def message_list(values: Any, what: str) -> List[Any]:
    """`values` as a list of messages (one message alone is a mistake, said so)."""
    if isinstance(values, (str, bytes, Mapping)):
        raise TypeError(f"{what} must be a list of messages, not {type(values).__name__}")
    try:
        return list(values)
    except TypeError:
        raise TypeError(f"{what} must be a list of messages, not {type(values).__name__}") from None


def messages(values: List[Any], what: str) -> Raw:
    """Messages (mappings in the protocol's shape) as a JSON array, each checked."""
    out = [_message(m, f"{what}: message {i}") for i, m in enumerate(values)]
    if len(out) > MAX_ITEMS:
        raise ValueError(f"{what} has more than the runtime's limit of {MAX_ITEMS} messages")
    return Raw("[" + ",".join(out) + "]")
