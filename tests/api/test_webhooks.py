import pytest

from replicate_mcp.api import WebhookVerificationError, sign_webhook, verify_webhook

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def headers(signature=SIGNATURE, timestamp=TIMESTAMP):
    return {"webhook-id": MSG_ID, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def test_standard_webhooks_vector_signs_and_verifies():
    assert sign_webhook(MSG_ID, TIMESTAMP, BODY, SECRET) == SIGNATURE
    verify_webhook(headers(), BODY, SECRET, now=TIMESTAMP)


def test_headers_are_case_insensitive_and_any_listed_signature_may_match():
    mixed = {
        "Webhook-Id": MSG_ID,
        "WEBHOOK-TIMESTAMP": str(TIMESTAMP),
        "Webhook-Signature": f"v1,bm9wZQ== {SIGNATURE}",
    }
    verify_webhook(mixed, BODY, SECRET, now=TIMESTAMP + 10)


@pytest.mark.parametrize(
    "signature",
    ["v1,bm9wZQ==", "v2," + SIGNATURE[3:], SIGNATURE[3:], ""],
    ids=["wrong", "unknown-version", "no-version", "empty"],
)
def test_wrong_signature_is_rejected(signature):
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers(signature), BODY, SECRET, now=TIMESTAMP)


def test_tampered_body_is_rejected():
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify_webhook(headers(), b'{"test": 2432232315}', SECRET, now=TIMESTAMP)


def test_stale_and_future_timestamps_are_rejected():
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_webhook(headers(), BODY, SECRET, now=TIMESTAMP + 301)
    with pytest.raises(WebhookVerificationError, match="future"):
        verify_webhook(headers(), BODY, SECRET, now=TIMESTAMP - 301)
    verify_webhook(headers(), BODY, SECRET, now=TIMESTAMP + 600, tolerance=900)


def test_missing_headers_and_bad_timestamp_are_rejected():
    with pytest.raises(WebhookVerificationError, match="Missing"):
        verify_webhook({"webhook-id": MSG_ID}, BODY, SECRET, now=TIMESTAMP)
    with pytest.raises(WebhookVerificationError, match="timestamp"):
        verify_webhook(headers(timestamp="yesterday"), BODY, SECRET, now=TIMESTAMP)


def test_secret_without_prefix_works_and_garbage_secret_is_an_error():
    verify_webhook(headers(), BODY, SECRET.removeprefix("whsec_"), now=TIMESTAMP)
    with pytest.raises(WebhookVerificationError, match="base64"):
        verify_webhook(headers(), BODY, "whsec_not base64!", now=TIMESTAMP)
