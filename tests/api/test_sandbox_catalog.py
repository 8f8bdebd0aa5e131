"""Read-only endpoints against the sandbox:
search, models, versions, readme, examples, collections, account."""

import pytest

from replicate_mcp.api import (
    AuthenticationError,
    MissingTokenError,
    Model,
    NotFoundError,
    Page,
    ReplicateClient,
)

pytestmark = pytest.mark.anyio


async def test_search_works_without_a_token(sandbox):
    async with ReplicateClient(None, base_url=sandbox.base_url) as anonymous:
        result = await anonymous.search("flux", limit=3)
        with pytest.raises(MissingTokenError):
            await anonymous.get_model("black-forest-labs", "flux-schnell")
    assert result.query == "flux"
    assert 1 <= len(result.models) <= 3
    assert all("flux" in hit.model.full_name for hit in result.models)
    assert sandbox.count("GET /v1/search") == 1
    assert sandbox.count("GET /v1/models/{owner}/{name}") == 0


async def test_search_models_with_query_method(client, sandbox):
    page = await client.search_models("llama")
    assert isinstance(page, Page)
    assert "meta/meta-llama-3-8b-instruct" in [m.full_name for m in page.results]
    assert sandbox.count("QUERY /v1/models") == 1


async def test_list_and_iterate_models(client):
    page = await client.list_models(sort_by="model_created_at", sort_direction="desc")
    names = [m.full_name async for m in client.iterate(page)]
    assert len(names) == len(set(names)) >= len(page.results) > 0
    assert {
        "replicate/hello-world",
        "black-forest-labs/flux-schnell",
        "meta/meta-llama-3-8b-instruct",
    } <= set(names)


async def test_official_model_has_schema_but_no_versions(client):
    model = await client.get_model("black-forest-labs", "flux-schnell")
    assert isinstance(model, Model)
    assert model.is_official
    assert "Input" in model.latest_version.openapi_schema["components"]["schemas"]
    with pytest.raises(NotFoundError) as info:
        await client.list_model_versions("black-forest-labs", "flux-schnell")
    assert info.value.status == 404


async def test_community_model_versions_readme_and_examples(client):
    model = await client.get_model("replicate", "hello-world")
    assert model.is_official is False
    versions = await client.list_model_versions("replicate", "hello-world")
    assert versions.results[0].id == model.latest_version.id
    version = await client.get_model_version("replicate", "hello-world", model.latest_version.id)
    assert version.openapi_schema == model.latest_version.openapi_schema
    readme = await client.get_model_readme("replicate", "hello-world")
    assert readme.startswith("# hello-world")
    examples = await client.get_model_examples("replicate", "hello-world")
    assert examples.results and examples.results[0].status == "succeeded"


async def test_unknown_model_is_not_found(client):
    with pytest.raises(NotFoundError, match="could not be found"):
        await client.get_model("nobody", "nothing")


async def test_collections(client):
    page = await client.list_collections()
    slugs = [c.slug for c in page.results]
    assert "text-to-image" in slugs
    collection = await client.get_collection("text-to-image")
    assert collection.name and collection.models
    assert "black-forest-labs/flux-schnell" in [m.full_name for m in collection.models]


async def test_hardware_account_and_webhook_secret(client):
    hardware = await client.list_hardware()
    assert "cpu" in [h.sku for h in hardware]
    account = await client.get_account()
    assert account.username and account.type in ("user", "organization")
    secret = await client.get_webhook_secret()
    assert secret.startswith("whsec_")


async def test_bad_token_is_an_authentication_error(sandbox):
    async with ReplicateClient("not-a-replicate-token", base_url=sandbox.base_url) as bad:
        with pytest.raises(AuthenticationError) as info:
            await bad.get_account()
    assert info.value.status == 401
    assert info.value.title == "Unauthenticated"
    assert "not-a-replicate-token" not in str(info.value)
    assert sandbox.count("GET /v1/account") == 1  # a 401 is not retried
