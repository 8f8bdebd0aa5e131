"""Server-sent events of prediction streams (`urls.stream`), decoded from raw byte chunks.

Follows the SSE spec (fields `event`, `id`, `data`, multi-line data joined by "\\n", lines starting with ":"
are comments: `: hi`, `:408: 408 Request Timeout`), with two tolerances for streams that omit blank lines, as
Replicate's own docs show them: an `event:` line arriving while an event already has data dispatches that
event first, and a complete event left at end of stream is dispatched rather than dropped.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServerSentEvent:
    event: str = "message"  # Replicate sends "output", "logs", "error" and "done"
    data: str = ""
    id: str = ""

    def json(self) -> Any:
        return json.loads(self.data)


class SSEDecoder:
    """Feed bytes in any chunking; get whole events out."""

    def __init__(self, *, last_event_id: str = "") -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []
        self._last_id = last_event_id
        self._pending = False

    @property
    def last_event_id(self) -> str:
        return self._last_id

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        self._buffer += self._text.decode(chunk)
        events: list[ServerSentEvent] = []
        while True:
            line, ending = _split_line(self._buffer)
            if ending is None:
                break
            self._buffer = self._buffer[len(line) + len(ending) :]
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of stream: flush a trailing unterminated line and a complete pending event."""
        self._buffer += self._text.decode(b"", final=True)
        events = self.feed(b"\n") if self._buffer else []
        if self._pending and self._data:
            events.append(self._dispatch())
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch() if self._pending else None
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        dispatched = None
        if name == "event":
            if self._data:
                dispatched = self._dispatch()
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" in value:
                return None
            self._last_id = value
        else:
            return None  # "retry" and unknown fields do not matter here
        self._pending = True
        return dispatched

    def _dispatch(self) -> ServerSentEvent:
        event = ServerSentEvent(event=self._event or "message", data="\n".join(self._data), id=self._last_id)
        self._event, self._data, self._pending = "", [], False
        return event


def _split_line(buffer: str) -> tuple[str, str | None]:
    """The first line of `buffer` and its ending ("\\r\\n", "\\n" or "\\r"), or
    (buffer, None) if incomplete."""
    cr, lf = buffer.find("\r"), buffer.find("\n")
    if cr == -1 and lf == -1:
        return buffer, None
    if cr == -1 or (lf != -1 and lf < cr):
        return buffer[:lf], "\n"
    if cr + 1 == len(buffer):
        return buffer, None  # a "\n" may follow in the next chunk
    return buffer[:cr], "\r\n" if buffer[cr + 1] == "\n" else "\r"
