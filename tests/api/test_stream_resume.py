"""Stream resumption over loopback, against a tiny SSE server that breaks its first response mid-stream."""

import asyncio

import pytest

from replicate_mcp.api import APIConnectionError, ReplicateClient

pytestmark = pytest.mark.anyio

EVENTS = [("output", "a", "1:0"), ("output", "b", "1:1"), ("output", "c", "1:2"), ("done", "{}", "1:3")]


def chunk(text: str) -> bytes:
    data = text.encode()
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def event_text(event, data, event_id):
    return f"event: {event}\nid: {event_id}\ndata: {data}\n\n"


class BreakingStream:
    """Answers GET with a chunked event stream;
    the first `breaks` answers stop after two events, mid-chunk."""

    def __init__(self, breaks: int, honour_last_event_id: bool = True):
        self.breaks = breaks
        self.honour = honour_last_event_id
        self.requests: list[dict[str, str]] = []

    async def handle(self, reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")[1:]
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)
        }
        self.requests.append(headers)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        writer.write(chunk(": hi\n\n"))
        start = 0
        if self.honour and "last-event-id" in headers:
            start = [e[2] for e in EVENTS].index(headers["last-event-id"]) + 1
        if len(self.requests) <= self.breaks:
            for event in EVENTS[start : start + 2]:
                writer.write(chunk(event_text(*event)))
            writer.write(b"ff\r\nevent: outp")  # a chunk cut short, then the connection dies
            await writer.drain()
            writer.transport.abort()
            return
        for event in EVENTS[start:]:
            writer.write(chunk(event_text(*event)))
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        writer.close()


async def serve(handler):
    server = await asyncio.start_server(handler.handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/predictions/x/stream"


@pytest.mark.parametrize("honour", [True, False], ids=["resumes", "replays"])
async def test_broken_stream_is_resumed_without_repeats(honour):
    handler = BreakingStream(breaks=1, honour_last_event_id=honour)
    server, url = await serve(handler)
    try:
        async with ReplicateClient("r8_x", base_url="https://api.replicate.com", backoff_base=0.01) as client:
            events = [(e.event, e.data, e.id) async for e in client.stream_events(url)]
    finally:
        server.close()
    assert events == EVENTS
    assert len(handler.requests) == 2
    assert "last-event-id" not in handler.requests[0]
    assert handler.requests[1]["last-event-id"] == "1:1"
    assert "authorization" not in handler.requests[0]  # not an API origin: no token


async def test_stream_that_keeps_breaking_gives_up():
    handler = BreakingStream(breaks=99, honour_last_event_id=False)
    server, url = await serve(handler)
    try:
        async with ReplicateClient(None, base_url="https://api.replicate.com", max_retries=2) as client:
            seen = []
            with pytest.raises(APIConnectionError, match="broke"):
                async for event in client.stream_events(url):
                    seen.append(event.id)
    finally:
        server.close()
    assert seen == ["1:0", "1:1"]
    assert len(handler.requests) == 3  # the first answer and max_retries reconnections
