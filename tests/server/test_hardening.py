"""Issue 12's findings, each kept fixed over the MCP wire against the sandbox: bad input gets a clear, bounded
error; results stay valid against their output schema however large; errors say what was not found."""

import json
import socket
import threading
import time
from contextlib import contextmanager

import httpx2
import jsonschema
import pytest
import uvicorn
from mcp import Client

from replicate_mcp.server import create_server
from replicate_mcp.server.app import http_app
from tests.server.conftest import TOKEN

pytestmark = pytest.mark.anyio

HELLO = "replicate/hello-world"
FLUX = "black-forest-labs/flux-schnell"
FLUX_DEV = "black-forest-labs/flux-dev"
WHISPER = "openai/whisper"
ID_HELP = (
    "an id is letters and digits, like 'gm3qorzdhgbfurvjtvhg6dckhu' (list_predictions shows recent ones)"
)
PREFIX = "Error executing tool {}: "


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def output_schemas(client) -> dict[str, dict]:
    return {tool.name: tool.output_schema for tool in (await client.list_tools()).tools}


# --- 9: wait_seconds and cancel_after that are not finite -------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_url(make_settings, sandbox):
    """The server over streamable HTTP, where a client can send JSON's non-standard NaN and Infinity."""

    @contextmanager
    def running(**overrides):
        port = _free_port()
        settings = make_settings(transport="http", port=port, **overrides)
        server = uvicorn.Server(
            uvicorn.Config(
                http_app(create_server(settings, base_url=sandbox.base_url), settings),
                host="127.0.0.1",
                port=port,
                log_level="warning",
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(250):
            if server.started:
                break
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            server.should_exit = True
            thread.join(5)

    return running


def raw_call(url: str, tool: str, arguments: dict, number: str) -> dict:
    """tools/call (2026-07-28 era), each NUMBER in `arguments` sent as raw JSON text `number` (NaN too)."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    request = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments, "_meta": meta},
    }
    body = json.dumps(request).replace('"NUMBER"', number)
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": tool,
    }
    response = httpx2.post(url, content=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["result"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "-1"])
def test_wait_seconds_not_finite_or_negative_is_a_clear_tool_error(http_url, sandbox, number):
    shown = {"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf", "-1": "-1.0"}[number]
    before = sandbox.stats()["requests"].get("POST /v1/predictions", 0)
    with http_url(max_wait=3) as url:
        run = {"model": HELLO, "input": {"text": "nan"}}
        for tool, arguments in (("run_model", run), ("wait_for_prediction", {"ids": "abc"})):
            result = raw_call(url, tool, {**arguments, "wait_seconds": "NUMBER"}, number)
            assert result["isError"] is True
            assert result["content"][0]["text"] == (
                PREFIX.format(tool) + f"wait_seconds must be a number of seconds from 0 to 3 (got {shown}); "
                "leave it out for the default"
            )
        result = raw_call(url, "run_model", {**run, "cancel_after": "NUMBER"}, number)
        assert result["isError"] is True
        assert result["content"][0]["text"] == PREFIX.format("run_model") + (
            f"cancel_after must be between 5s and 1h on this server (got {shown}); "
            "a longer lifetime needs the server's --max-cancel-after"
        )
    assert sandbox.stats()["requests"].get("POST /v1/predictions", 0) == before


# --- 10: ids and slugs of the wrong shape -----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", ".", "..", "a\x00b", "a/b", "x" * 300])
async def test_malformed_prediction_ids_say_what_an_id_looks_like(make_server, mode, bad):
    shown = repr(bad) if len(repr(bad)) <= 80 else f"{repr(bad)[:79]}… ({len(bad):,} characters)"
    async with Client(make_server(), mode=mode) as client:
        for tool in ("get_prediction", "cancel_prediction"):
            result = await client.call_tool(tool, {"id": bad})
            assert result.is_error
            assert text_of(result) == PREFIX.format(tool) + f"id {shown} is not a prediction id; {ID_HELP}"
        waited = await client.call_tool("wait_for_prediction", {"ids": [bad], "wait_seconds": 1})
        assert waited.structured_content["problems"] == [
            {"id": bad, "error": f"id {shown} is not a prediction id; {ID_HELP}"}
        ]


@pytest.mark.parametrize("bad", ["", ".", "..", "a\x00b/c", "a/b/c", "o/" + "x" * 300])
async def test_malformed_model_references_say_what_a_reference_looks_like(make_server, mode, bad):
    shown = repr(bad) if len(repr(bad)) <= 80 else f"{repr(bad)[:79]}… ({len(bad):,} characters)"
    async with Client(make_server(), mode=mode) as client:
        result = await client.call_tool("get_model", {"model": bad})
        assert result.is_error
        assert text_of(result) == PREFIX.format("get_model") + (
            f"{shown} is not a model reference; use owner/name, owner/name:<64-hex version>, "
            "a 64-hex version id, or deployments/owner/name"
        )


async def test_collection_slug_is_checked_and_a_missing_one_named(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        bad = await client.call_tool("list_collections", {"slug": "../x"})
        assert text_of(bad) == PREFIX.format("list_collections") + (
            "slug '../x' is not a valid slug: letters, digits, '-', '_' or '.', "
            "starting with a letter or digit, at most 100 characters"
        )
        missing = await client.call_tool("list_collections", {"slug": "no-such-collection"})
        assert text_of(missing) == PREFIX.format("list_collections") + (
            "No collection 'no-such-collection'; list_collections with no slug lists them all"
        )


# --- 11: error text is bounded by --max-response-chars ----------------------------------------------------


async def test_error_text_is_bounded_by_the_response_cap(make_server, mode):
    async with Client(make_server(max_response_chars=2000), mode=mode) as client:
        for tool, args in (
            ("get_model", {"model": "x" * 1_000_000}),
            ("list_predictions", {"cursor": "y" * 1_000_000}),
            ("run_model", {"model": HELLO, "input": {"text": "z", "t" * 100_000: 1}}),
        ):
            result = await client.call_tool(tool, args)
            assert result.is_error
            text = text_of(result)
            assert len(text) <= 2000 + len(PREFIX.format(tool)), (tool, len(text))
        cut = text_of(result)
        assert cut.startswith(
            PREFIX.format("run_model") + "Input for replicate/hello-world is invalid; nothing was sent."
        )
        assert cut.endswith(" characters cut)")


# --- 8: a large valid input keeps validate_input's structured result valid ------------------------------


async def test_large_valid_input_is_reported_within_the_cap_and_the_output_schema(make_server, mode):
    prompt = "a fox in the snow, " * 20_000  # 380 KB, like the real inputs that crashed validate_input
    async with Client(make_server(), mode=mode) as client:
        schema = (await output_schemas(client))["validate_input"]
        result = await client.call_tool("validate_input", {"model": FLUX, "input": {"prompt": prompt}})
        assert not result.is_error, text_of(result)
        data = result.structured_content
        jsonschema.validate(data, schema)
        assert data == {
            "model": FLUX,
            "valid": True,
            "notes": ["normalized_input: left out to fit the response cap"],
        }
        assert len(text_of(result)) <= 20_000


# --- 14: object outputs are objects, the text first -------------------------------------------------------


async def test_transcript_comes_back_as_an_object_with_its_text_first(make_server, mode):
    audio = "https://replicate.delivery/sample/speech.mp3"
    async with Client(make_server(), mode=mode) as client:
        schema = (await output_schemas(client))["run_model"]
        result = await client.call_tool(
            "run_model", {"model": WHISPER, "input": {"audio": audio}, "wait_seconds": 30}
        )
        data = result.structured_content
        assert data["status"] == "succeeded", text_of(result)
        jsonschema.validate(data, schema)
        output = data["output"]
        assert list(output) == ["transcription", "detected_language"]
        assert output["detected_language"] == "english" and output["transcription"].strip()
        full = json.loads(
            (await client.read_resource(f"replicate://predictions/{data['id']}")).contents[0].text
        )
        assert full["output"]["transcription"] == output["transcription"]
        segments = len(json.dumps(full["output"]["segments"], separators=(",", ":"), ensure_ascii=False))
        assert data["notes"][-1] == (
            f"output.segments ({segments:,} characters) left out; "
            f"read resource replicate://predictions/{data['id']} for all"
        )


# --- 16: deployments ------------------------------------------------------------------------------------


@pytest.fixture
def deployment(sandbox) -> str:
    """The seeded deployment of replicate/hello-world in the tests' account."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    [dep] = [
        d
        for d in httpx2.get(f"{sandbox.base_url}/deployments", headers=headers).json()["results"]
        if d["name"] == "hello-world-dep"
    ]
    return f"deployments/{dep['owner']}/hello-world-dep"


async def test_deployment_has_a_model_card_and_can_be_allowed_by_name(
    make_server, make_settings, sandbox, mode, deployment
):
    async with Client(make_server(), mode=mode) as client:
        card = await client.call_tool("get_model", {"model": deployment})
        assert not card.is_error, text_of(card)
        assert card.structured_content["model"] == deployment
        assert card.structured_content["inputs"] == "text* str — Text to prefix with 'hello '\n→ output: text"
        missing = await client.call_tool("get_model", {"model": "deployments/sandbox/no-such-dep"})
        assert text_of(missing) == PREFIX.format("get_model") + (
            "No deployment sandbox/no-such-dep on this Replicate account (deployments are named "
            "owner/deployment-name). Check the name on https://replicate.com/deployments, "
            "or run the model by owner/name."
        )
    # The allow-list names the deployment itself (config's pattern check is set aside here: see the report).
    settings = make_settings(allow_models=("replicate/*",)).model_copy(update={"allow_models": (deployment,)})
    async with Client(create_server(settings, base_url=sandbox.base_url), mode=mode) as client:
        ran = await client.call_tool("run_model", {"model": deployment, "input": {"text": "dep"}})
        assert ran.structured_content["output"] == "hello dep", text_of(ran)
        refused = await client.call_tool("get_model", {"model": HELLO})
        assert text_of(refused) == PREFIX.format("get_model") + (
            f"{HELLO} is not allowed on this server (allowed: {deployment}); "
            "ask the user to add it to --allow-models"
        )
    # Allowing the model a deployment runs allows the deployment.
    async with Client(make_server(allow_models=("replicate/hello-world",)), mode=mode) as client:
        card = await client.call_tool("get_model", {"model": deployment})
        assert card.structured_content["model"] == deployment, text_of(card)


# --- 17: the dry run applies run_model's file checks -----------------------------------------------------


async def test_validate_input_refuses_the_local_paths_run_model_refuses(make_server, mode, tmp_path):
    allowed = tmp_path / "inputs"
    allowed.mkdir()
    (allowed / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"x")
    (allowed / "link.png").symlink_to(outside)
    async with Client(make_server(allow_dirs=(allowed,)), mode=mode) as client:
        ok = await client.call_tool(
            "validate_input", {"model": FLUX_DEV, "input": {"prompt": "a", "image": str(allowed / "cat.png")}}
        )
        assert ok.structured_content["valid"] is True, text_of(ok)
        for path in (outside, allowed / "link.png", allowed / "missing.png"):
            report = await client.call_tool(
                "validate_input", {"model": FLUX_DEV, "input": {"prompt": "a", "image": str(path)}}
            )
            ran = await client.call_tool(
                "run_model", {"model": FLUX_DEV, "input": {"prompt": "a", "image": str(path)}}
            )
            assert report.structured_content["valid"] is False and ran.is_error
            [problem] = report.structured_content["errors"]
            assert problem["field"] == "image"
            # the same reason, word for word, as run_model's refusal
            assert problem["message"].removeprefix("`image`: ") in text_of(ran), (problem, text_of(ran))


# --- 18: errors that say what was not found, and what to do ---------------------------------------------


async def test_unknown_model_names_the_nearest_ones(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        typo = await client.call_tool("get_model", {"model": "black-forest-labs/flux-schnel"})
        assert text_of(typo).startswith(
            PREFIX.format("get_model")
            + (
                "No model named black-forest-labs/flux-schnel on Replicate; "
                "did you mean black-forest-labs/flux-schnell"
            )
        )
        nothing = await client.call_tool("get_model", {"model": "zzqq/qqzz"})
        assert text_of(nothing) == PREFIX.format("get_model") + (
            "No model named zzqq/qqzz on Replicate; search_models finds models by what they do"
        )


async def test_empty_search_says_what_to_try(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        found = await client.call_tool("search_models", {"query": "zzqqxx"})
        assert found.structured_content == {
            "models": [],
            "notes": [
                "no model matched 'zzqqxx': try fewer or more general words for what the model does "
                "('image generation', 'speech to text'), or list_collections for curated lists"
            ],
        }


async def test_several_unknown_inputs_list_the_allowed_names_once(make_server, mode):
    bad = {"prompt": "a", "zz1": 1, "zz2": 2, "zz3": 3, "zz4": 4}
    async with Client(make_server(), mode=mode) as client:
        report = (await client.call_tool("validate_input", {"model": FLUX, "input": bad})).structured_content
        listed = [e for e in report["errors"] if "allowed" in e]
        assert [e["field"] for e in listed] == ["zz1"]
        messages = [e["message"] for e in report["errors"]]
        assert messages[0].startswith("unknown input `zz1`; inputs are: prompt, aspect_ratio, ")
        assert messages[1:] == [f"unknown input `zz{n}`; the inputs are listed above" for n in (2, 3, 4)]


# --- 15: previews made once when the files are saved, never larger than the file, off per call ------------


async def test_previews_are_kept_beside_the_files_and_never_larger_than_them(make_server, mode):
    import base64
    from pathlib import Path

    async with Client(make_server(), mode=mode) as client:
        ran = await client.call_tool(
            "run_model", {"model": FLUX, "input": {"prompt": "a fox", "num_outputs": 2}}
        )
        files = ran.structured_content["files"]
        assert ran.structured_content["status"] == "succeeded", text_of(ran)
        kept = []
        for f in files:
            path = Path(f["path"])
            [preview] = [p for p in path.parent.iterdir() if p.name.startswith(f".{path.name}.preview.")]
            kept.append(preview)
        shown = [base64.b64decode(b.data) for b in ran.content if b.type == "image"]
        for data, f, preview in zip(shown, files, kept, strict=True):
            assert len(data) <= Path(f["path"]).stat().st_size
            assert data == (
                Path(f["path"]).read_bytes() if preview.name.endswith(".original") else preview.read_bytes()
            )
        # Shown again, the kept preview is read, not made again.
        marker = base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
        )
        for preview in kept:
            preview.with_name(preview.name.rsplit(".", 1)[0] + ".png").write_bytes(marker)
            if not preview.name.endswith(".png"):
                preview.unlink()
        again = await client.call_tool("get_prediction", {"id": ran.structured_content["id"]})
        assert [base64.b64decode(b.data) for b in again.content if b.type == "image"] == [marker, marker]
        plain = await client.call_tool(
            "get_prediction", {"id": ran.structured_content["id"], "images": False}
        )
        assert [b.type for b in plain.content] == ["text", "resource_link", "resource_link"]
