import json

import httpx2
import pytest

from replicate_mcp.api import (
    AuthenticationError,
    InputValidationError,
    MissingTokenError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    ReplicateError,
    ServerError,
)
from replicate_mcp.api._errors import error_from_response


def response(status, body, content_type="application/problem+json"):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx2.Response(status, content=content, headers={"content-type": content_type})


def test_problem_json_validation_error_keeps_every_field():
    body = {
        "detail": "- input: prompt is required\n- input.num_inference_steps: "
        "Must be less than or equal to 4\n",
        "status": 422,
        "title": "Input validation failed",
        "invalid_fields": [
            {"type": "required", "field": "input", "description": "prompt is required"},
            {
                "type": "number_lte",
                "field": "input.num_inference_steps",
                "description": "Must be less than or equal to 4",
            },
        ],
    }
    err = error_from_response(response(422, body))
    assert isinstance(err, InputValidationError)
    assert (err.status, err.title, err.detail) == (422, "Input validation failed", body["detail"])
    assert err.invalid_fields == body["invalid_fields"]
    assert str(err) == (
        "Input validation failed: input: prompt is required; "
        "input.num_inference_steps: Must be less than or equal to 4 (HTTP 422)"
    )
    assert "\n" not in str(err)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (402, PaymentRequiredError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (400, ReplicateError),
        (413, ReplicateError),
    ],
)
def test_status_maps_to_error_class(status, cls):
    err = error_from_response(response(status, {"detail": "x", "status": status}))
    assert type(err) is cls
    assert err.status == status


def test_real_401_body():
    err = error_from_response(
        response(
            401,
            {
                "title": "Unauthenticated",
                "detail": "You did not pass a valid authentication token",
                "status": 401,
            },
        )
    )
    assert str(err) == "Unauthenticated: You did not pass a valid authentication token (HTTP 401)"


def test_plain_json_detail_without_title_uses_reason_phrase():
    err = error_from_response(
        response(
            404, {"detail": "The requested resource could not be found.", "status": 404}, "application/json"
        )
    )
    assert err.title == "Not Found"
    assert str(err) == "Not Found: The requested resource could not be found. (HTTP 404)"


def test_rate_limit_body_carries_retry_after():
    err = error_from_response(
        response(
            429,
            {
                "detail": "Request was throttled. Your rate limit resets in ~10s.",
                "status": 429,
                "retry_after": 10,
            },
        )
    )
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 10.0


def test_non_json_bodies():
    html = error_from_response(response(502, b"<html><body>Bad gateway\n</body></html>", "text/html"))
    assert isinstance(html, ServerError)
    assert html.title == "Bad Gateway"
    assert html.detail == "<html><body>Bad gateway; </body></html>"
    empty = error_from_response(response(503, b"", "text/plain"))
    assert str(empty) == "Service Unavailable (HTTP 503)"
    listed = error_from_response(response(500, [1, 2], "application/json"))
    assert listed.detail == "[1, 2]"


def test_long_bodies_are_cut():
    err = error_from_response(response(500, b"x" * 5000, "text/plain"))
    assert len(err.detail) == 200


def test_non_string_detail_is_serialized():
    err = error_from_response(
        response(400, {"detail": [{"loc": ["query"], "msg": "missing"}]}, "application/json")
    )
    assert err.detail == '[{"loc": ["query"], "msg": "missing"}]'


def test_note_is_appended():
    err = error_from_response(response(500, {"detail": "boom"}), note="It may or may not have been created.")
    assert err.detail == "boom It may or may not have been created."


def test_missing_token_message_says_how_to_fix_it():
    message = str(MissingTokenError())
    assert "REPLICATE_API_TOKEN" in message
    assert "https://replicate.com/account/api-tokens" in message
    assert "--sandbox" in message
    assert MissingTokenError().status is None
