"""WebhookReceiver as an ASGI app: deliveries signed with sign_webhook,
answered as Replicate needs them answered."""

import base64
import json
import logging
import socket
import time

import anyio
import httpx2
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from replicate_mcp.api import ReplicateClient, sign_webhook
from replicate_mcp.sandbox import SandboxConfig, start_sandbox
from replicate_mcp.server.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.anyio

SECRET = "whsec_" + base64.b64encode(b"receiver-test-key-0123456789abcd").decode()
ROTATED = "whsec_" + base64.b64encode(b"receiver-rotated-key-0123456789a").decode()
PREDICTION = {"id": "p8w2hxq7", "status": "succeeded", "output": "hello hook"}


class Secrets:
    """fetch_secret: hands out `values` in turn (the last one from then on) and counts the calls."""

    def __init__(self, *values: str | Exception):
        self.values = list(values)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        value = self.values[min(self.calls, len(self.values)) - 1]
        if isinstance(value, Exception):
            raise value
        return value


class Handed:
    """on_prediction: records each prediction; raises while `failures` is above zero."""

    def __init__(self, failures: int = 0):
        self.predictions: list[dict] = []
        self.failures = failures

    async def __call__(self, prediction: dict) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("ledger is locked")
        self.predictions.append(prediction)


def signed(
    body: bytes,
    *,
    secret: str = SECRET,
    msg_id: str = "msg_1",
    timestamp: int | None = None,
    signature: str | None = None,
) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature or sign_webhook(msg_id, timestamp, body, secret),
    }


def encode(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


BODY = encode(PREDICTION)


@pytest.fixture
def handed():
    return Handed()


@pytest.fixture
def secrets():
    return Secrets(SECRET)


@pytest.fixture
def receiver(secrets, handed):
    return WebhookReceiver(fetch_secret=secrets, on_prediction=handed)


@pytest.fixture
async def http(receiver):
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=receiver), base_url="http://mcp.local"
    ) as c:
        yield c


async def post(http, body: bytes, headers: dict[str, str]):
    return await http.post("/webhooks/replicate", content=body, headers=headers)


async def test_valid_delivery_is_handed_over_and_answered_200(http, secrets, handed):
    assert secrets.calls == 0  # fetched lazily, on the first delivery
    response = await post(http, BODY, signed(BODY))
    assert (response.status_code, response.json()) == (200, {"status": "accepted"})
    assert handed.predictions == [PREDICTION]
    second = encode({**PREDICTION, "status": "processing"})
    response = await post(http, second, signed(second, msg_id="msg_2"))
    assert response.status_code == 200
    assert [p["status"] for p in handed.predictions] == ["succeeded", "processing"]
    assert secrets.calls == 1  # cached


async def test_any_one_of_several_signatures_may_match(http, handed):
    good = signed(BODY)["webhook-signature"]
    wrong = sign_webhook("msg_1", int(time.time()), BODY, ROTATED)
    response = await post(http, BODY, signed(BODY, signature=f"{wrong} v2,abc {good}"))
    assert response.status_code == 200
    assert handed.predictions == [PREDICTION]


async def test_wrong_secret_is_401_and_says_why_without_secret_or_signature(http, secrets, handed):
    headers = signed(BODY, secret=ROTATED)
    response = await post(http, BODY, headers)
    assert (response.status_code, response.json()) == (401, {"error": "No matching webhook signature"})
    for secret_part in (SECRET, ROTATED, SECRET[6:], ROTATED[6:], headers["webhook-signature"][3:]):
        assert secret_part not in response.text
    assert handed.predictions == []
    assert secrets.calls == 2  # the first fetch, then one more in case the secret was rotated


async def test_tampered_body_is_401(http, handed):
    tampered = BODY.replace(b"hello hook", b"hello hack")
    response = await post(http, tampered, signed(BODY))
    assert response.status_code == 401
    assert handed.predictions == []


async def test_rotated_secret_is_fetched_again_and_the_delivery_accepted(handed):
    secrets = Secrets(SECRET, ROTATED)
    receiver = WebhookReceiver(fetch_secret=secrets, on_prediction=handed)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=receiver), base_url="http://mcp.local"
    ) as http:
        assert (await post(http, BODY, signed(BODY, msg_id="msg_old"))).status_code == 200
        assert (await post(http, BODY, signed(BODY, secret=ROTATED, msg_id="msg_new"))).status_code == 200
        assert secrets.calls == 2
        # The old secret is gone now, and a second mismatch within the minute fetches nothing more.
        assert (await post(http, BODY, signed(BODY, msg_id="msg_stale_key"))).status_code == 401
        assert (await post(http, BODY, signed(BODY, secret=ROTATED, msg_id="msg_3"))).status_code == 200
    assert secrets.calls == 2
    assert len(handed.predictions) == 3


async def test_secret_is_fetched_again_at_most_once_a_minute(http, secrets):
    for n in range(4):
        response = await post(http, BODY, signed(BODY, secret=ROTATED, msg_id=f"msg_{n}"))
        assert response.status_code == 401
    assert secrets.calls == 2


@pytest.mark.parametrize(
    ("age", "reason"),
    [(301, "Webhook timestamp is too old"), (-301, "Webhook timestamp is in the future")],
    ids=["stale", "future"],
)
async def test_timestamp_outside_tolerance_is_401(http, secrets, handed, age, reason):
    response = await post(http, BODY, signed(BODY, timestamp=int(time.time()) - age))
    assert (response.status_code, response.json()) == (401, {"error": reason})
    assert handed.predictions == []
    assert secrets.calls == 1  # a stale timestamp says nothing about the secret


async def test_tolerance_is_configurable(handed):
    receiver = WebhookReceiver(fetch_secret=Secrets(SECRET), on_prediction=handed, tolerance=30)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=receiver), base_url="http://mcp.local"
    ) as http:
        late = await post(http, BODY, signed(BODY, timestamp=int(time.time()) - 60))
        timely = await post(http, BODY, signed(BODY, timestamp=int(time.time()) - 10))
    assert (late.status_code, timely.status_code) == (401, 200)
    assert receiver.replays.window == 60


async def test_missing_signature_headers_are_401(http, handed):
    headers = signed(BODY)
    del headers["webhook-signature"]
    response = await post(http, BODY, headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Missing webhook-id, webhook-timestamp or webhook-signature header"}
    assert (await http.post("/", content=BODY)).status_code == 401
    assert handed.predictions == []


async def test_replayed_delivery_is_200_duplicate_and_not_handed_over_again(http, handed):
    headers = signed(BODY, msg_id="msg_final")
    first = await post(http, BODY, headers)
    again = await post(http, BODY, headers)
    assert (first.status_code, first.json()) == (200, {"status": "accepted"})
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    assert handed.predictions == [PREDICTION]
    # A new webhook-id for the same prediction is a new delivery (Replicate sends one per event).
    assert (await post(http, BODY, signed(BODY, msg_id="msg_other"))).json() == {"status": "accepted"}
    assert len(handed.predictions) == 2


async def test_refused_delivery_does_not_mark_its_id_as_seen(http, handed):
    stale = await post(http, BODY, signed(BODY, msg_id="msg_x", timestamp=int(time.time()) - 400))
    fresh = await post(http, BODY, signed(BODY, msg_id="msg_x"))
    assert (stale.status_code, fresh.status_code) == (401, 200)
    assert handed.predictions == [PREDICTION]


@pytest.mark.parametrize("empty", ["", "whsec_", "   "], ids=repr)
async def test_empty_secret_refuses_every_delivery_with_503(handed, empty):
    secrets = Secrets(empty)
    receiver = WebhookReceiver(fetch_secret=secrets, on_prediction=handed)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=receiver), base_url="http://mcp.local"
    ) as http:
        # Signed under an empty key: what anyone could forge.
        forged = signed(BODY, signature="v1," + base64.b64encode(b"x").decode())
        for n in range(3):
            forged["webhook-id"] = f"msg_{n}"
            response = await post(http, BODY, forged)
            assert response.status_code == 503
            assert response.json() == {
                "error": "there is no usable webhook secret here; deliver it again later"
            }
    assert handed.predictions == []
    assert secrets.calls == 2


async def test_secret_that_cannot_be_fetched_is_503_and_fetched_again_next_time(handed, caplog):
    secrets = Secrets(RuntimeError("api.replicate.com unreachable"), SECRET)
    receiver = WebhookReceiver(fetch_secret=secrets, on_prediction=handed)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=receiver), base_url="http://mcp.local"
    ) as http:
        with caplog.at_level(logging.WARNING, logger="replicate_mcp.server.webhook_receiver"):
            failed = await post(http, BODY, signed(BODY))
        retried = await post(http, BODY, signed(BODY))
    assert failed.status_code == 503
    assert failed.json() == {"error": "the webhook secret is unavailable here; deliver it again later"}
    assert "cannot fetch the webhook secret: RuntimeError: api.replicate.com unreachable" in caplog.text
    assert retried.status_code == 200
    assert handed.predictions == [PREDICTION]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "the body is not JSON"),
        (b"\xff\xfe", "the body is not JSON"),
        (b"[1, 2]", 'the body is not a JSON object with an "id"'),
        (b'{"status": "succeeded"}', 'the body is not a JSON object with an "id"'),
        (b'{"id": 42}', 'the body is not a JSON object with an "id"'),
        (b'{"id": ""}', 'the body is not a JSON object with an "id"'),
    ],
    ids=["text", "binary", "array", "no-id", "number-id", "empty-id"],
)
async def test_signed_body_that_is_not_a_prediction_is_400(http, handed, body, reason):
    response = await post(http, body, signed(body))
    assert (response.status_code, response.json()) == (400, {"error": reason})
    assert handed.predictions == []


async def test_other_content_type_is_accepted_when_the_body_is_json(http, handed):
    response = await post(http, BODY, {**signed(BODY), "content-type": "text/plain"})
    assert response.status_code == 200
    assert handed.predictions == [PREDICTION]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD"])
async def test_methods_other_than_post_are_405(http, handed, method):
    response = await http.request(method, "/webhooks/replicate")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert handed.predictions == []


async def test_body_over_max_body_is_413_by_its_content_length_before_reading(handed):
    pulled = []

    async def chunks():
        for n in range(64):
            pulled.append(n)
            yield b"x" * 1024

    receiver = WebhookReceiver(fetch_secret=Secrets(SECRET), on_prediction=handed, max_body=4096)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=receiver), base_url="http://mcp.local"
    ) as http:
        response = await http.post(
            "/", content=chunks(), headers={**signed(b""), "content-length": str(64 * 1024)}
        )
    assert (response.status_code, response.json()) == (413, {"error": "the body is larger than 4096 bytes"})
    assert pulled == []
    assert handed.predictions == []


async def test_streamed_body_over_max_body_is_413_without_reading_it_all(handed):
    pulled = []

    async def chunks():
        for n in range(64):
            pulled.append(n)
            yield b"x" * 1024

    receiver = WebhookReceiver(fetch_secret=Secrets(SECRET), on_prediction=handed, max_body=4096)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=receiver), base_url="http://mcp.local"
    ) as http:
        response = await http.post("/", content=chunks(), headers=signed(b""))
    assert response.status_code == 413
    assert len(pulled) == 5  # 5 KiB passed the 4 KiB limit
    assert handed.predictions == []


async def test_body_of_exactly_max_body_is_read_and_one_byte_more_is_not(handed):
    receiver = WebhookReceiver(fetch_secret=Secrets(SECRET), on_prediction=handed, max_body=len(BODY))
    longer = BODY + b" "
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=receiver), base_url="http://mcp.local"
    ) as http:
        exact = await post(http, BODY, signed(BODY))
        over = await post(http, longer, signed(longer, msg_id="msg_2"))
    assert (exact.status_code, over.status_code) == (200, 413)
    assert handed.predictions == [PREDICTION]


async def test_on_prediction_raising_is_500_logged_and_the_retry_is_processed(caplog):
    handed = Handed(failures=1)
    receiver = WebhookReceiver(fetch_secret=Secrets(SECRET), on_prediction=handed)
    headers = signed(BODY, msg_id="msg_final")
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=receiver), base_url="http://mcp.local"
    ) as http:
        with caplog.at_level(logging.ERROR, logger="replicate_mcp.server.webhook_receiver"):
            failed = await post(http, BODY, headers)
        retried = await post(http, BODY, headers)  # Replicate retries the final delivery with the same id
    assert failed.status_code == 500
    assert failed.json() == {"error": "the prediction could not be processed here; deliver it again later"}
    assert "webhook msg_final: handling prediction p8w2hxq7 failed" in caplog.text
    assert "ledger is locked" in caplog.text
    assert SECRET not in caplog.text and SECRET[6:] not in caplog.text
    assert (retried.status_code, retried.json()) == (200, {"status": "accepted"})
    assert handed.predictions == [PREDICTION]


async def test_delivery_cancelled_while_handed_over_is_processed_when_redelivered():
    entered = anyio.Event()
    handed: list[dict] = []

    async def on_prediction(prediction: dict) -> None:
        if not entered.is_set():
            entered.set()
            await anyio.sleep_forever()  # the server shuts down, or the connection drops, meanwhile
        handed.append(prediction)

    receiver = WebhookReceiver(fetch_secret=Secrets(SECRET), on_prediction=on_prediction)
    headers = signed(BODY, msg_id="msg_final")
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=receiver), base_url="http://mcp.local"
    ) as http:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(post, http, BODY, headers)
            await entered.wait()
            tasks.cancel_scope.cancel()
        retried = await post(http, BODY, headers)
    assert (retried.status_code, retried.json()) == (200, {"status": "accepted"})
    assert handed == [PREDICTION]


async def test_only_http_scopes_are_served(receiver):
    async def receive():
        return {"type": "lifespan.startup"}

    async def send(message):
        raise AssertionError(message)

    with pytest.raises(RuntimeError, match="HTTP only"):
        await receiver({"type": "lifespan"}, receive, send)


# --- end to end: the sandbox delivers, over loopback, to the receiver served by uvicorn ---------------------


@pytest.fixture(scope="module")
def webhook_sandbox():
    insecure = (
        {"allow_insecure_webhooks": True}
        if "allow_insecure_webhooks" in SandboxConfig.__dataclass_fields__
        else {}
    )
    running = start_sandbox(SandboxConfig(time_scale=0.01, seed=11, cold_boot=0.1, **insecure))
    yield running
    running.stop()


async def test_sandbox_delivery_is_verified_and_handed_over(webhook_sandbox):
    finished = anyio.Event()
    handed: list[dict] = []

    async with ReplicateClient(
        "r8_webhook_receiver_e2e_0123456789", base_url=webhook_sandbox.base_url
    ) as client:
        fetched: list[str] = []

        async def fetch_secret() -> str:
            fetched.append(await client.get_webhook_secret())
            return fetched[-1]

        async def on_prediction(prediction: dict) -> None:
            handed.append(prediction)
            if prediction["status"] == "succeeded":
                finished.set()

        receiver = WebhookReceiver(fetch_secret=fetch_secret, on_prediction=on_prediction)
        app = Starlette(routes=[Route("/webhooks/replicate", receiver)])  # as http_app() mounts it
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(app, lifespan="off", log_level="warning", http="h11", ws="none")
        )
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(server.serve, [listener])
            try:
                with anyio.fail_after(20):
                    while not server.started:
                        await anyio.sleep(0.01)
                    version = (await client.get_model("replicate", "hello-world")).latest_version.id
                    prediction = await client.create_prediction(
                        version=version,
                        input={"text": "hook"},
                        webhook=f"http://127.0.0.1:{port}/webhooks/replicate",
                        webhook_events_filter=["completed"],
                    )
                    await finished.wait()
            finally:
                server.should_exit = True
        listener.close()

    assert len(handed) == 1
    assert (handed[0]["id"], handed[0]["status"], handed[0]["output"]) == (
        prediction.id,
        "succeeded",
        "hello hook",
    )
    assert len(fetched) == 1
    assert fetched[0].startswith("whsec_")
