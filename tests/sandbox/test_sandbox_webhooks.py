"""Signed webhooks: the Standard Webhooks test vector, and real deliveries to a local receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from replicate_mcp.sandbox.webhooks import sign

from .conftest import client_for, hello_version, wait_terminal

VECTOR = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": 1614265330,
    "body": b'{"test": 2432232314}',
    "signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}


def verify(headers: dict[str, str], body: bytes, secret: str) -> bool:
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(sig.split(",", 1)[1], expected) for sig in headers["webhook-signature"].split()
    )


def test_signature_matches_test_vector() -> None:
    signature = sign(VECTOR["secret"], VECTOR["id"], VECTOR["timestamp"], VECTOR["body"])
    assert signature == VECTOR["signature"]
    headers = {
        "webhook-id": VECTOR["id"],
        "webhook-timestamp": str(VECTOR["timestamp"]),
        "webhook-signature": signature,
    }
    assert verify(headers, VECTOR["body"], VECTOR["secret"])


class Receiver:
    """A tiny HTTP server collecting webhook deliveries; `fail_first` answers 500 that many times."""

    def __init__(self, fail_first: int = 0) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        self.got_completed = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 500 if receiver.fail_first > 0 else 200
                receiver.fail_first -= 1
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
                if status == 200 and json.loads(body)["status"] in (
                    "succeeded",
                    "failed",
                    "canceled",
                    "aborted",
                ):
                    receiver.got_completed.set()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_deliveries_are_signed_with_the_served_secret(make_sandbox, receiver) -> None:
    hook = receiver()
    with client_for(make_sandbox(allow_insecure_webhooks=True)) as api:
        _check_signed_deliveries(api, hook)


def _check_signed_deliveries(api, hook) -> None:
    secret = api.get("/v1/webhooks/default/secret").json()["key"]
    assert secret.startswith("whsec_")
    body = api.post(
        "/v1/models/meta/meta-llama-3-8b-instruct/predictions",
        json={"input": {"prompt": "hi"}, "webhook": hook.url},
    ).json()
    assert body["webhook_events_filter"] == ["start", "output", "logs", "completed"]
    assert hook.got_completed.wait(10)
    statuses = [json.loads(b)["status"] for _, b in hook.deliveries]
    assert statuses[0] == "starting" and statuses[-1] == "succeeded"
    for headers, raw in hook.deliveries:
        assert verify(headers, raw, secret)
        assert headers["content-type"] == "application/json"
        assert (
            raw == json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False).encode()
        )  # compact
        assert json.loads(raw)["id"] == body["id"]
    # output/logs webhooks are throttled: far fewer deliveries than streamed chunks
    final = wait_terminal(api, body["urls"]["get"])
    assert len(hook.deliveries) < len(final["output"])


def test_filter_and_completed_retry(make_sandbox, receiver) -> None:
    hook = receiver(fail_first=2)
    with client_for(make_sandbox(webhook_retries=3, allow_insecure_webhooks=True)) as client:
        client.post(
            "/v1/predictions",
            json={
                "version": hello_version(client),
                "input": {"text": "x"},
                "webhook": hook.url,
                "webhook_events_filter": ["completed"],
            },
        )
        assert hook.got_completed.wait(10)
    assert len(hook.deliveries) == 3
    ids = {headers["webhook-id"] for headers, _ in hook.deliveries}
    assert len(ids) == 1  # retries resend the same message


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/hook", "http://169.254.169.254/latest", "ftp://example.com/x", "https://", 42]
)
def test_only_https_webhooks_are_accepted_by_default(api, url) -> None:
    version = hello_version(api)
    for path, body in (
        ("/v1/predictions", {"version": version}),
        ("/v1/models/replicate/hello-world/predictions", {}),
    ):
        response = api.post(path, json={**body, "input": {"text": "x"}, "webhook": url})
        assert response.status_code == 422, (path, url)
        problem = response.json()
        assert [f["field"] for f in problem["invalid_fields"]] == ["webhook"]
        if isinstance(url, str) and url.startswith("http://"):
            assert "https://" in problem["detail"] and "--allow-insecure-webhooks" in problem["detail"]


def test_https_webhooks_are_accepted(api) -> None:
    response = api.post(
        "/v1/predictions",
        json={
            "version": hello_version(api),
            "input": {"text": "x"},
            "webhook": "https://example.com/hook",
            "webhook_events_filter": ["completed"],
        },
    )
    assert response.status_code == 201 and response.json()["webhook"] == "https://example.com/hook"


def test_plain_http_webhook_is_never_delivered_without_the_option(make_sandbox, receiver) -> None:
    from replicate_mcp.sandbox.webhooks import webhook_url_problem

    assert webhook_url_problem("http://127.0.0.1/hook", allow_insecure=True) is None
    assert "https://" in webhook_url_problem("http://127.0.0.1/hook", allow_insecure=False)
    hook = receiver()
    running = make_sandbox()
    with client_for(running) as client:
        refused = client.post(
            "/v1/predictions",
            json={"version": hello_version(client), "input": {"text": "x"}, "webhook": hook.url},
        )
        assert refused.status_code == 422
    assert hook.deliveries == []
