"""Prediction lifecycle, headers, errors, pages and data removal, over real loopback HTTP."""

from __future__ import annotations

import re
import time

import httpx2

from .conftest import TOKEN, client_for, hello_version, start_slow_prediction, wait_terminal

FLUX = "/v1/models/black-forest-labs/flux-schnell/predictions"
LLAMA = "/v1/models/meta/meta-llama-3-8b-instruct/predictions"


def test_prediction_goes_starting_processing_succeeded(api: httpx2.Client) -> None:
    sdxl = api.get("/v1/models/stability-ai/sdxl").json()["latest_version"]["id"]
    created = api.post("/v1/predictions", json={"version": sdxl, "input": {"prompt": "a red fox"}})
    assert created.status_code == 201
    body = created.json()
    assert re.fullmatch(r"[a-z0-9]{26}", body["id"])
    assert body["status"] == "starting" and body["version"] == sdxl and body["source"] == "api"
    assert body["urls"]["get"].startswith("http://127.0.0.1:") and body["urls"]["web"].endswith(body["id"])
    assert body["created_at"].endswith("Z")
    seen = {body["status"]}
    for _ in range(400):
        current = api.get(body["urls"]["get"]).json()
        seen.add(current["status"])
        if current["status"] == "succeeded":
            break
        time.sleep(0.01)
    assert {"starting", "processing", "succeeded"} <= seen
    assert "%|" in current["logs"]
    assert (
        current["metrics"]["predict_time"] > 0
        and current["metrics"]["total_time"] >= current["metrics"]["predict_time"]
    )
    image = httpx2.get(current["output"][0])
    assert (
        image.status_code == 200
        and image.headers["content-type"].startswith("image/")
        and len(image.content) > 100
    )


def test_iterator_output_grows_while_processing(make_sandbox) -> None:
    with client_for(make_sandbox(time_scale=0.2, cold_boot=0)) as client:
        body = client.post(LLAMA, json={"input": {"prompt": "tell me a story"}}).json()
        lengths: list[int] = []
        for _ in range(2000):
            current = client.get(body["urls"]["get"]).json()
            if isinstance(current["output"], list):
                lengths.append(len(current["output"]))
            if current["status"] == "succeeded" or len(set(lengths)) > 3:
                break
            time.sleep(0.005)
        client.post(body["urls"]["cancel"])
        assert len(set(lengths)) > 2 and lengths == sorted(lengths)


def test_prefer_wait_holds_until_done_and_inlines_files(api: httpx2.Client) -> None:
    response = api.post(FLUX, json={"input": {"prompt": "x"}}, headers={"Prefer": "wait=60"})
    assert response.status_code == 201 and response.headers["preference-applied"] == "wait=60"
    body = response.json()
    assert body["status"] == "succeeded" and body["output"][0].startswith("data:image/")
    assert api.get(body["urls"]["get"]).json()["output"][0].startswith("http://")


def test_prefer_wait_times_out_with_a_running_prediction(make_sandbox) -> None:
    with client_for(make_sandbox(cold_boot=1000)) as client:
        response = client.post(FLUX, json={"input": {"prompt": "x"}}, headers={"Prefer": "wait=1"})
        assert response.status_code == 201 and response.json()["status"] == "starting"


def test_cancel_running_and_terminal(api: httpx2.Client) -> None:
    body = start_slow_prediction(api)
    canceled = api.post(body["urls"]["cancel"]).json()
    assert canceled["status"] == "canceled" and canceled["completed_at"]
    again = api.post(body["urls"]["cancel"])
    assert again.status_code == 200 and again.json()["completed_at"] == canceled["completed_at"]
    assert api.get(body["urls"]["get"]).json()["status"] == "canceled"


def test_cancel_after_sets_deadline_and_aborts_or_cancels(make_sandbox) -> None:
    with client_for(make_sandbox(cold_boot=10)) as client:
        aborted = client.post(FLUX, json={"input": {"prompt": "x"}}, headers={"Cancel-After": "5s"}).json()
        assert aborted["deadline"].endswith("Z")
        assert wait_terminal(client, aborted["urls"]["get"])["status"] == "aborted"
    with client_for(make_sandbox(cold_boot=1)) as client:
        version = client.get("/v1/models/sandbox/text-to-video").json()["latest_version"]["id"]
        running = client.post(
            "/v1/predictions",
            json={"version": version, "input": {"prompt": "x"}},
            headers={"Cancel-After": "1m"},
        ).json()
        assert wait_terminal(client, running["urls"]["get"])["status"] == "canceled"
    with client_for(make_sandbox()) as client:
        for header, status in (("4s", 422), ("soon", 400)):
            response = client.post(FLUX, json={"input": {"prompt": "x"}}, headers={"Cancel-After": header})
            assert response.status_code == status
            assert response.headers["content-type"] == "application/problem+json"


def test_version_forms_and_real_errors(api: httpx2.Client) -> None:
    version = hello_version(api)
    for ref in (version, f"replicate/hello-world:{version}"):
        body = api.post("/v1/predictions", json={"version": ref, "input": {"text": "a"}}).json()
        assert body["version"] == version and body["model"] == "replicate/hello-world"
    official = api.post(
        "/v1/predictions", json={"version": "black-forest-labs/flux-schnell", "input": {"prompt": "x"}}
    )
    assert official.status_code == 201 and official.json()["version"] == "hidden"
    for ref in ("replicate/hello-world", "0" * 64, f"stability-ai/sdxl:{version}"):
        bad = api.post("/v1/predictions", json={"version": ref, "input": {}})
        assert bad.status_code == 422 and bad.json()["title"] == "Invalid version or not permitted"
    invalid = api.post(FLUX, json={"input": {"num_inference_steps": 9}})
    assert invalid.status_code == 422 and invalid.headers["content-type"] == "application/problem+json"
    problem = invalid.json()
    assert problem["title"] == "Input validation failed"
    assert problem["detail"] == "".join(
        f"- {f['field']}: {f['description']}\n" for f in problem["invalid_fields"]
    )
    extra = api.post(FLUX, json={"input": {"prompt": "x"}, "lifetime": 5})
    assert extra.status_code == 422
    assert api.post(FLUX, json={"input": {"prompt": "x"}, "stream": True}).status_code == 201
    missing = api.get("/v1/predictions/doesnotexist")
    assert missing.status_code == 404 and missing.json() == {
        "detail": "The requested resource could not be found.",
        "status": 404,
    }


def test_auth_schemes_and_401(sandbox) -> None:
    for header in (f"Bearer {TOKEN}", f"Token {TOKEN}"):
        assert httpx2.get(f"{sandbox.base_url}/account", headers={"Authorization": header}).status_code == 200
    for headers in ({}, {"Authorization": "Bearer nope"}):
        response = httpx2.get(f"{sandbox.base_url}/account", headers=headers)
        assert response.status_code == 401 and response.headers["content-type"] == "application/problem+json"
        assert response.json() == {
            "title": "Unauthenticated",
            "detail": "You did not pass a valid authentication token",
            "status": 401,
        }
    assert httpx2.get(f"{sandbox.base_url}/search", params={"query": "llama"}).status_code == 200


def test_rate_limits_per_bucket(make_sandbox) -> None:
    with client_for(make_sandbox(create_limit=2, other_limit=5)) as client:
        first = client.get("/v1/account")
        assert first.headers["ratelimit-remaining"] == "4" and int(first.headers["ratelimit-reset"]) >= 1
        for _ in range(2):
            assert client.post(FLUX, json={"input": {"prompt": "x"}}).status_code == 201
        throttled = client.post(FLUX, json={"input": {"prompt": "x"}})
        assert throttled.status_code == 429
        body = throttled.json()
        assert body["status"] == 429 and body["retry_after"] == int(throttled.headers["retry-after"])
        assert body["detail"] == f"Request was throttled. Your rate limit resets in ~{body['retry_after']}s."
        statuses = [client.get("/v1/account").status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]


def test_list_pages_newest_first_with_absolute_next(make_sandbox) -> None:
    with client_for(make_sandbox(cold_boot=1000)) as client:
        version = hello_version(client)
        ids = [
            client.post("/v1/predictions", json={"version": version, "input": {"text": str(i)}}).json()["id"]
            for i in range(105)
        ]
        first = client.get("/v1/predictions").json()
        assert [p["id"] for p in first["results"]] == ids[::-1][:100]
        assert first["next"].startswith("http://127.0.0.1:")
        second = httpx2.get(first["next"], headers=client.headers).json()
        assert [p["id"] for p in second["results"]] == ids[::-1][100:] and second["next"] is None
        middle = first["results"][50]["created_at"]
        after = client.get("/v1/predictions", params={"created_after": middle}).json()["results"]
        before = client.get("/v1/predictions", params={"created_before": middle}).json()["results"]
        assert len(after) == 51 and len(after) + len(before) == 105
        models = client.get("/v1/models").json()
        assert len(models["results"]) <= 25


def test_data_removed_after_retention(make_sandbox) -> None:
    with client_for(make_sandbox(data_retention=20)) as client:
        body = client.post(FLUX, json={"input": {"prompt": "x"}}).json()
        done = wait_terminal(client, body["urls"]["get"])
        file_url = done["output"][0]
        assert httpx2.get(file_url).status_code == 200
        for _ in range(200):
            current = client.get(body["urls"]["get"]).json()
            if current["data_removed"]:
                break
            time.sleep(0.01)
        assert current["data_removed"] is True
        assert current["input"] == {} and current["output"] is None and current["logs"] == ""
        assert httpx2.get(file_url).status_code == 404


def test_seeded_ids_repeat(make_sandbox) -> None:
    def first_id() -> str:
        with client_for(make_sandbox(seed=42)) as client:
            return client.post(FLUX, json={"input": {"prompt": "x"}}).json()["id"]

    assert first_id() == first_id()


def test_training_pushes_a_new_version(make_sandbox) -> None:
    with client_for(make_sandbox(time_scale=0.0005)) as client:
        client.post(
            "/v1/models",
            json={"owner": "sandbox", "name": "my-lora", "visibility": "private", "hardware": "cpu"},
        )
        trainer = client.get("/v1/models/ostris/flux-dev-lora-trainer/versions").json()["results"][0]["id"]
        created = client.post(
            f"/v1/models/ostris/flux-dev-lora-trainer/versions/{trainer}/trainings",
            json={
                "destination": "sandbox/my-lora",
                "input": {"input_images": "https://example.com/x.zip", "steps": 20},
            },
        )
        assert created.status_code == 201
        training = wait_terminal(client, created.json()["urls"]["get"], polls=2000)
        assert training["status"] == "succeeded", training.get("error")
        new_version = training["output"]["version"]
        assert new_version.startswith("sandbox/my-lora:")
        assert httpx2.get(training["output"]["weights"]).status_code == 200
        for _ in range(100):
            versions = client.get("/v1/models/sandbox/my-lora/versions").json()["results"]
            if versions:
                break
            time.sleep(0.01)
        assert versions[0]["id"] == new_version.split(":")[1]
        missing = client.post(
            f"/v1/models/ostris/flux-dev-lora-trainer/versions/{trainer}/trainings",
            json={"destination": "nobody/nothing", "input": {}},
        )
        assert missing.status_code == 404
        assert missing.json()["detail"] == "The specified training destination does not exist"
