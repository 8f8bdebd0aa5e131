import pytest

from replicate_mcp.api import ServerSentEvent, SSEDecoder

STREAM = (
    b": hi\n\n"
    b"event: output\nid: 1690212292:0\ndata: Once upon a time...\n\n"
    b"event: output\nid: 1690212293:0\ndata: line one\ndata: line two\n\n"
    b"event: logs\nid: 1690212293:1\ndata: 50%|#####     |\n\n"
    b":408: 408 Request Timeout\n\n"
    b"event: done\nid: 1690212294:0\ndata: {}\n\n"
)
EXPECTED = [
    ServerSentEvent("output", "Once upon a time...", "1690212292:0"),
    ServerSentEvent("output", "line one\nline two", "1690212293:0"),
    ServerSentEvent("logs", "50%|#####     |", "1690212293:1"),
    ServerSentEvent("done", "{}", "1690212294:0"),
]


def decode(chunks):
    decoder = SSEDecoder()
    events = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events + decoder.close()


def test_whole_stream_in_one_chunk():
    assert decode([STREAM]) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_any_chunking_gives_the_same_events(size):
    chunks = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert decode(chunks) == EXPECTED


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"])
def test_crlf_and_cr_line_endings(newline):
    stream = STREAM.replace(b"\n", newline)
    assert decode([stream[i : i + 5] for i in range(0, len(stream), 5)]) == EXPECTED


def test_multibyte_utf8_split_across_chunks():
    body = "event: output\ndata: héllo 🌍\n\n".encode()
    split = body.index("🌍".encode()) + 2
    assert decode([body[:split], body[split:]]) == [ServerSentEvent("output", "héllo 🌍", "")]


def test_json_data_and_id_carries_over():
    events = decode(
        [
            b'id: 7\nevent: error\ndata: {"detail": "Something went wrong"}\n\nevent: done\ndata: '
            b'{"reason": "error"}\n\n'
        ]
    )
    assert events[0].json() == {"detail": "Something went wrong"}
    assert [e.id for e in events] == ["7", "7"]
    assert events[1].json() == {"reason": "error"}


def test_docs_format_without_blank_lines_is_tolerated():
    # Replicate's docs print events with no blank line between them, and no trailing one.
    stream = b"event: output\nid: 1:0\ndata: Once upon a time...\nevent: done\ndata: {}"
    assert decode([stream]) == [
        ServerSentEvent("output", "Once upon a time...", "1:0"),
        ServerSentEvent("done", "{}", "1:0"),
    ]


def test_default_event_type_leading_space_and_unknown_fields():
    events = decode([b"data:no space\nretry: 100\nfoo: bar\n\ndata:  two spaces\n\n"])
    assert events == [
        ServerSentEvent("message", "no space", ""),
        ServerSentEvent("message", " two spaces", ""),
    ]


def test_comments_only_give_nothing_and_last_event_id_is_tracked():
    decoder = SSEDecoder(last_event_id="5:0")
    assert decoder.feed(b": hi\n\n:408: 408 Request Timeout\n\n") == []
    assert decoder.last_event_id == "5:0"
    decoder.feed(b"id: 6:0\ndata: x\n\n")
    assert decoder.last_event_id == "6:0"
