"""Several accounts in one sandbox: each token is one account and sees only its own things,
as on Replicate."""

from __future__ import annotations

import hashlib

import httpx2
import pytest

from replicate_mcp.sandbox import RunningSandbox

from .conftest import hello_version, wait_terminal

ALICE, BOB = "r8_alice_token_0123456789", "r8_bob_token_0123456789"
NOT_FOUND = {"detail": "The requested resource could not be found.", "status": 404}


@pytest.fixture
def box(make_sandbox) -> RunningSandbox:
    return make_sandbox(accounts={ALICE: "alice", BOB: "bob"})


def as_(running: RunningSandbox, token: str) -> httpx2.Client:
    return httpx2.Client(base_url=running.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_each_token_has_its_own_account(box, make_sandbox) -> None:
    other = "r8_someone_else_0123456789"
    with as_(box, ALICE) as alice, as_(box, BOB) as bob, as_(box, other) as someone:
        assert alice.get("/v1/account").json()["username"] == "alice"
        assert bob.get("/v1/account").json()["username"] == "bob"
        derived = "user-" + hashlib.sha256(other.encode()).hexdigest()[:10]
        assert someone.get("/v1/account").json() == {
            "type": "user",
            "username": derived,
            "name": derived,
            "github_url": f"https://github.com/{derived}",
        }
    with as_(make_sandbox(), other) as again, as_(make_sandbox(), "r8_sandbox_anything") as house:
        assert again.get("/v1/account").json()["username"] == derived  # stable across sandboxes
        assert house.get("/v1/account").json()["username"] == "sandbox"


def test_predictions_are_seen_only_by_their_account(box) -> None:
    with as_(box, ALICE) as alice, as_(box, BOB) as bob:
        created = alice.post(
            "/v1/predictions", json={"version": hello_version(alice), "input": {"text": "a"}}
        ).json()
        pid = created["id"]
        assert wait_terminal(alice, f"/v1/predictions/{pid}")["output"] == "hello a"
        for response in (bob.get(f"/v1/predictions/{pid}"), bob.post(f"/v1/predictions/{pid}/cancel")):
            assert (response.status_code, response.json()) == (404, NOT_FOUND)
        assert [p["id"] for p in alice.get("/v1/predictions").json()["results"]] == [pid]
        assert bob.get("/v1/predictions").json()["results"] == []
        mine = bob.post(
            "/v1/predictions", json={"version": hello_version(bob), "input": {"text": "b"}}
        ).json()
        assert [p["id"] for p in bob.get("/v1/predictions").json()["results"]] == [mine["id"]]
        assert [p["id"] for p in alice.get("/v1/predictions").json()["results"]] == [pid]


def test_files_are_seen_only_by_their_account(box) -> None:
    with as_(box, ALICE) as alice, as_(box, BOB) as bob:
        uploaded = alice.post("/v1/files", files={"content": ("a.txt", b"alice's", "text/plain")}).json()
        fid = uploaded["id"]
        assert alice.get(f"/v1/files/{fid}/download").content == b"alice's"
        assert bob.get("/v1/files").json()["results"] == []
        for response in (
            bob.get(f"/v1/files/{fid}"),
            bob.get(f"/v1/files/{fid}/download"),
            bob.delete(f"/v1/files/{fid}"),
        ):
            assert response.status_code == 404
        assert [f["id"] for f in alice.get("/v1/files").json()["results"]] == [fid]


def test_private_models_are_their_creators_and_public_ones_everyones(box) -> None:
    with as_(box, ALICE) as alice, as_(box, BOB) as bob:
        for name, visibility in (("secret-lora", "private"), ("open-lora", "public")):
            body = {"owner": "alice", "name": name, "visibility": visibility, "hardware": "cpu"}
            assert alice.post("/v1/models", json=body).status_code == 201
        assert alice.get("/v1/models/alice/secret-lora").status_code == 200
        for path in ("/v1/models/alice/secret-lora", "/v1/models/alice/secret-lora/versions"):
            assert (bob.get(path).status_code, bob.get(path).json()) == (404, NOT_FOUND)
        assert bob.patch("/v1/models/alice/secret-lora", json={"description": "mine now"}).status_code == 404
        assert bob.delete("/v1/models/alice/secret-lora").status_code == 404
        assert bob.get("/v1/models/alice/open-lora").status_code == 200
        assert bob.get("/v1/models/replicate/hello-world").status_code == 200

        def listed(client: httpx2.Client) -> set[str]:
            names, url = set(), "/v1/models"
            while url:
                page = client.get(url).json()
                names |= {f"{m['owner']}/{m['name']}" for m in page["results"]}
                url = page["next"]
            return names

        assert {"alice/secret-lora", "alice/open-lora"} <= listed(alice)
        assert "alice/secret-lora" not in listed(bob) and "alice/open-lora" in listed(bob)


def test_trainings_into_a_private_model_stay_private(box) -> None:
    with as_(box, ALICE) as alice, as_(box, BOB) as bob:
        alice.post(
            "/v1/models", json={"owner": "alice", "name": "lora", "visibility": "private", "hardware": "cpu"}
        )
        trainer = alice.get("/v1/models/ostris/flux-dev-lora-trainer/versions").json()["results"][0]["id"]
        path = f"/v1/models/ostris/flux-dev-lora-trainer/versions/{trainer}/trainings"
        body = {
            "destination": "alice/lora",
            "input": {"input_images": "https://example.com/x.zip", "steps": 20},
        }
        refused = bob.post(path, json=body)
        assert refused.status_code == 404
        assert refused.json()["detail"] == "The specified training destination does not exist"
        training = alice.post(path, json=body).json()
        assert bob.get(f"/v1/trainings/{training['id']}").status_code == 404
        assert bob.post(f"/v1/trainings/{training['id']}/cancel").status_code == 404
        assert bob.get("/v1/trainings").json()["results"] == []
        assert [t["id"] for t in alice.get("/v1/trainings").json()["results"]] == [training["id"]]


def test_deployments_belong_to_their_account(box) -> None:
    with as_(box, ALICE) as alice, as_(box, BOB) as bob:
        assert [d["owner"] + "/" + d["name"] for d in alice.get("/v1/deployments").json()["results"]] == [
            "alice/hello-world-dep"
        ]
        version = hello_version(alice)
        made = alice.post(
            "/v1/deployments",
            json={
                "name": "mine",
                "model": "replicate/hello-world",
                "version": version,
                "hardware": "cpu",
                "min_instances": 0,
                "max_instances": 1,
            },
        ).json()
        assert made["owner"] == "alice" and made["current_release"]["created_by"]["username"] == "alice"
        assert sorted(d["name"] for d in bob.get("/v1/deployments").json()["results"]) == ["hello-world-dep"]
        for response in (
            bob.get("/v1/deployments/alice/mine"),
            bob.patch("/v1/deployments/alice/mine", json={}),
            bob.post("/v1/deployments/alice/mine/predictions", json={"input": {"text": "x"}}),
            bob.delete("/v1/deployments/alice/mine"),
        ):
            assert (response.status_code, response.json()) == (404, NOT_FOUND)
        run = alice.post("/v1/deployments/alice/mine/predictions", json={"input": {"text": "dep"}}).json()
        assert wait_terminal(alice, f"/v1/predictions/{run['id']}")["output"] == "hello dep"
        assert bob.get(f"/v1/predictions/{run['id']}").status_code == 404
