import json
from pathlib import Path

from replicate_mcp.api import TERMINAL_STATUSES, FileObject, Model, Page, Prediction, SearchResponse, Training

RECORDED = Path(__file__).parents[1] / "fixtures" / "replicate-api"
CASSETTES = RECORDED / "cassettes"
WEBHOOK = RECORDED / "webhook-delivery-2025-06-09.json"


def recorded_bodies(path_fragment):
    cassettes = sorted(CASSETTES.glob("*.json"))
    assert cassettes, f"no recorded cassettes in {CASSETTES}"
    for cassette in cassettes:
        for pair in json.loads(cassette.read_text()):
            if path_fragment in pair["request"]["uri"] and pair["response"]["status"] < 300:
                body = pair["response"]["body"]
                if isinstance(body, dict):
                    yield pair["request"], body


def test_all_four_terminal_statuses():
    assert TERMINAL_STATUSES == {"succeeded", "failed", "canceled", "aborted"}
    for status in ("starting", "processing"):
        assert not Prediction(status=status).is_terminal
    for status in TERMINAL_STATUSES:
        assert Prediction(status=status).is_terminal
        assert Training(status=status).is_terminal


def test_unknown_status_and_fields_are_kept():
    prediction = Prediction.model_validate(
        {"id": "x", "status": "paused", "brand_new": {"a": 1}, "urls": {"get": "u", "stream": None}}
    )
    assert prediction.status == "paused"
    assert not prediction.is_terminal
    assert prediction.brand_new == {"a": 1}
    assert prediction.urls == {"get": "u"}


def test_real_webhook_body_parses():
    body = json.loads(json.loads(WEBHOOK.read_text())["raw_body"])
    prediction = Prediction.model_validate(body)
    assert prediction.status == "succeeded"
    assert prediction.version == "hidden"
    assert prediction.urls["stream"].startswith("https://stream.replicate.com/")
    assert prediction.metrics["predict_time"] > 0


def test_recorded_predictions_parse():
    seen = 0
    for _request, body in recorded_bodies("/predictions"):
        if "results" in body:
            page = Page[Prediction].model_validate(body)
            seen += len(page.results)
        else:
            prediction = Prediction.model_validate(body)
            assert prediction.id and prediction.status
            seen += 1
    assert seen > 5


def test_recorded_models_parse():
    seen = 0
    for request, body in recorded_bodies("/models/"):
        if request["method"] == "GET" and body.get("owner") and "latest_version" in body:
            model = Model.model_validate(body)
            assert model.full_name == f"{body['owner']}/{body['name']}"
            if body["latest_version"]:
                assert model.latest_version.id == body["latest_version"]["id"]
            seen += 1
    assert seen > 0


def test_recorded_file_parses_with_fields_beyond_the_spec():
    files = [FileObject.model_validate(b) for r, b in recorded_bodies("/files") if "checksums" in b]
    assert files
    assert files[0].etag and files[0].name and files[0].urls["get"].startswith("https://")


def test_search_response_shape():
    body = {
        "query": "flux",
        "models": [
            {
                "model": {"owner": "black-forest-labs", "name": "flux-schnell"},
                "metadata": {"tags": ["image"], "score": 0.9, "generated_description": None},
            }
        ],
        "collections": [
            {
                "name": "Text to image",
                "slug": "text-to-image",
                "description": "d",
                "models": ["black-forest-labs/flux-schnell"],
            }
        ],
        "pages": [{"name": "Docs", "href": "/docs"}],
    }
    search = SearchResponse.model_validate(body)
    assert search.models[0].model.full_name == "black-forest-labs/flux-schnell"
    assert search.models[0].metadata.score == 0.9
    assert search.collections[0].models == ["black-forest-labs/flux-schnell"]
