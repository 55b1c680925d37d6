"""Messages of a conversation (a ``messages`` span), in the protocol's shape.

A message is a mapping ``{"role", "name"?, "content"?, "tool_calls"?, "tool_call_id"?}``:
``content`` is a str or a list of parts (``{"type": "text", "text": ...}``, or any other
mapping, shown as JSON); a tool call is ``{"id"?, "name", "arguments"?}`` with arguments any
JSON (shown as a tree). These helpers make them; plain dicts of the same shape work as well.
"""

from typing import Any, Dict, Iterable, List, Optional, Union

Content = Union[str, List[Any]]


def message(
    role: str,
    content: Content = "",
    *,
    name: Optional[str] = None,
    tool_calls: Iterable[Dict[str, Any]] = (),
    tool_call_id: Optional[str] = None,
) -> Dict[str, Any]:
    """A message of ``role`` (``system``, ``user``, ``assistant`` or ``tool``)."""
    m: Dict[str, Any] = {"role": role}
    if name is not None:
        m["name"] = name
    m["content"] = content
    calls = list(tool_calls)
    if calls:
        m["tool_calls"] = calls
    if tool_call_id is not None:
        m["tool_call_id"] = tool_call_id
    return m


def tool_call(name: str, arguments: Any = None, *, id: Optional[str] = None) -> Dict[str, Any]:
    """A call of tool ``name``; ``id`` names it for its result (:func:`tool_result`)."""
    call: Dict[str, Any] = {}
    if id is not None:
        call["id"] = id
    call["name"] = name
    call["arguments"] = arguments
    return call


def tool_result(call_id: str, content: Content, *, name: Optional[str] = None) -> Dict[str, Any]:
    """A ``tool`` message: the result of call ``call_id``."""
    return message("tool", content, name=name, tool_call_id=call_id)
