"""An API that echoes the token back in its error bodies: no field, message or note of the error keeps it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from replicate_mcp.api import InputValidationError, ReplicateClient, ReplicateError

pytestmark = pytest.mark.anyio

TOKEN = "r8_echoedBackSecret0123456789abcdefXYZ"


class EchoingAPI(BaseHTTPRequestHandler):
    """GET /v1/predictions/<kind> answers an error whose body repeats the caller's Authorization header."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        auth = self.headers.get("authorization", "")
        token = auth.split(" ", 1)[-1]
        kind = self.path.rsplit("/", 1)[-1]
        status, content_type = 422, "application/problem+json"
        if kind == "problem":
            body = json.dumps(
                {
                    "title": f"Bad token {token}",
                    "detail": f"- input: you sent {auth}\n",
                    "status": 422,
                    "invalid_fields": [
                        {
                            "type": "format",
                            "field": f"input.{token}",
                            "description": f"not {token}",
                            "nested": {"echo": [token]},
                        }
                    ],
                }
            ).encode()
        elif kind == "escaped":  # the token written with JSON \u escapes: only the parsed fields show it
            escaped = "".join(f"\\u{ord(c):04x}" for c in token)
            body = f'{{"title": "Bad token {escaped}", "detail": "you sent {escaped}"}}'.encode()
        else:  # plain text, with the token where a 200-character snippet would cut it in two
            status, content_type = 502, "text/plain"
            body = ("x" * 190 + f" {token} trailing words").encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def echoing_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoingAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(5)


def every_text(error: ReplicateError) -> str:
    return " ".join(
        [
            str(error),
            repr(error),
            error.title or "",
            error.detail or "",
            json.dumps(error.invalid_fields),
            *getattr(error, "__notes__", []),
        ]
    )


async def fetch_error(base_url: str, kind: str) -> ReplicateError:
    async with ReplicateClient(TOKEN, base_url=base_url, max_retries=0) as client:
        with pytest.raises(ReplicateError) as caught:
            await client.get_prediction(kind)
    return caught.value


async def test_problem_body_is_redacted_in_every_field(echoing_api):
    error = await fetch_error(echoing_api, "problem")
    assert isinstance(error, InputValidationError)
    assert error.title == "Bad token [redacted]"
    assert error.detail == "- input: you sent Bearer [redacted]\n"
    assert error.invalid_fields == [
        {
            "type": "format",
            "field": "input.[redacted]",
            "description": "not [redacted]",
            "nested": {"echo": ["[redacted]"]},
        }
    ]
    assert str(error) == "Bad token [redacted]: input: you sent Bearer [redacted] (HTTP 422)"
    assert TOKEN not in every_text(error) and "r8_" not in every_text(error)


async def test_json_escaped_token_is_redacted_after_parsing(echoing_api):
    error = await fetch_error(echoing_api, "escaped")
    assert (error.title, error.detail) == ("Bad token [redacted]", "you sent [redacted]")
    assert "r8_" not in every_text(error)


async def test_text_body_cut_to_a_snippet_keeps_no_part_of_the_token(echoing_api):
    error = await fetch_error(echoing_api, "text")
    assert error.status == 502
    assert error.detail == "x" * 190 + " [redacte…"
    assert "r8_" not in every_text(error)


def test_redact_covers_notes_added_later():
    error = ReplicateError(f"detail {TOKEN}", title=f"title {TOKEN}", invalid_fields=[{"description": TOKEN}])
    error.add_note(f"while sending {TOKEN}")
    error.redact(lambda text: text.replace(TOKEN, "[redacted]"))
    assert "r8_" not in every_text(error)
    assert error.__notes__ == ["while sending [redacted]"]
