import pytest

from replicate_mcp.api import (
    ReplayCache,
    WebhookSecretError,
    WebhookSignatureError,
    WebhookVerificationError,
    sign_webhook,
    verify_webhook,
)

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


def test_signature_mismatch_is_a_signature_error():
    with pytest.raises(WebhookSignatureError, match="No matching webhook signature"):
        verify_webhook(headers("v1,bm9wZQ=="), BODY, SECRET, now=TIMESTAMP)


@pytest.mark.parametrize("secret", ["", "whsec_", "   ", " whsec_ ", "\n"], ids=repr)
def test_empty_secret_is_refused_to_verify_and_to_sign(secret):
    with pytest.raises(WebhookSecretError, match="no webhook secret"):
        verify_webhook(headers(), BODY, secret, now=TIMESTAMP)
    with pytest.raises(WebhookSecretError, match="no webhook secret"):
        sign_webhook(MSG_ID, TIMESTAMP, BODY, secret)


def test_empty_secret_is_refused_before_looking_at_headers():
    # Otherwise a delivery without headers would be told "Missing header"
    # by a receiver that can verify nothing.
    with pytest.raises(WebhookSecretError, match="no webhook secret"):
        verify_webhook({}, BODY, "whsec_", now=TIMESTAMP)


def test_secret_with_surrounding_whitespace_works():
    verify_webhook(headers(), BODY, f"  {SECRET}\n", now=TIMESTAMP)


def test_replay_cache_remembers_an_id_for_its_window():
    cache = ReplayCache(window=600, max_entries=10)
    assert cache.seen_before("msg_a", now=1000.0) is False
    assert cache.seen_before("msg_a", now=1000.0) is True
    assert cache.seen_before("msg_a", now=1599.0) is True
    assert cache.seen_before("msg_b", now=1599.0) is False
    assert cache.seen_before("msg_a", now=1600.0) is False  # expired, so seen afresh
    assert cache.seen_before("msg_a", now=1601.0) is True


def test_replay_cache_drops_expired_ids_as_new_ones_arrive():
    cache = ReplayCache(window=10, max_entries=100)
    for n in range(5):
        cache.seen_before(f"msg_{n}", now=float(n))
    assert len(cache) == 5
    cache.seen_before("msg_late", now=13.0)  # msg_0..msg_3 expired at 10..13
    assert len(cache) == 2
    assert cache.seen_before("msg_4", now=13.0) is True


def test_replay_cache_is_capped_oldest_first():
    cache = ReplayCache(window=600, max_entries=3)
    for n in range(4):
        assert cache.seen_before(f"msg_{n}", now=100.0 + n) is False
    assert len(cache) == 3
    assert cache.seen_before("msg_0", now=104.0) is False  # evicted by the cap
    assert cache.seen_before("msg_3", now=104.0) is True


def test_replay_cache_forget_lets_an_id_through_again():
    cache = ReplayCache()
    assert cache.seen_before("msg_a", now=0.0) is False
    cache.forget("msg_a")
    cache.forget("msg_never_seen")
    assert cache.seen_before("msg_a", now=1.0) is False
    assert cache.seen_before("msg_a", now=2.0) is True


@pytest.mark.parametrize("kwargs", [{"window": 0}, {"max_entries": 0}])
def test_replay_cache_refuses_a_useless_configuration(kwargs):
    with pytest.raises(ValueError, match="positive window"):
        ReplayCache(**kwargs)
