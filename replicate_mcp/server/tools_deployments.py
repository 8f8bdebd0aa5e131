"""The deployments toolset: list, get, create, update and delete deployments (runs go through run_model).

A deployment is a model version on hardware the account chooses, with its own instance limits; it is billed
for its instances' uptime, so its card says what an always-on instance costs. Delete needs `confirm: true`.
"""

# No `from __future__ import annotations`: the SDK reads these signatures at registration.
import re
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from replicate_mcp.api import NotFoundError, ReplicateError
from replicate_mcp.pricing import price_table, usd
from replicate_mcp.server.content import bounded_result
from replicate_mcp.server.errors import tool_errors
from replicate_mcp.server.services import Services
from replicate_mcp.server.tools import CREATE, READ, services

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
MODEL_VERSION = re.compile(r"^([a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.-]*)(?::([0-9a-f]{64}))?$")
DELETE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
)
UPDATE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
)

DeploymentArg = Annotated[str, Field(description="Deployment as owner/name")]


class DeploymentInfo(BaseModel):
    deployment: str
    model: str | None = None
    version: str | None = None
    hardware: str | None = None
    min_instances: int | None = None
    max_instances: int | None = None
    release: int | None = None
    updated_at: str | None = None
    billing: str | None = None
    run_with: str | None = None


class DeploymentList(BaseModel):
    deployments: list[DeploymentInfo]
    next_cursor: str | None = None


class Deleted(BaseModel):
    deleted: str


def _info(deployment: Any) -> DeploymentInfo:
    release = deployment.current_release
    config = (release.configuration if release is not None else None) or {}
    hardware = config.get("hardware")
    slug = f"{deployment.owner}/{deployment.name}"
    rate = price_table().rate(hardware) if hardware else None
    billing = None
    if rate is not None:
        billing = (
            f"per second of instance uptime on {hardware}: {usd(rate)}/s, about {usd(rate * 3600)} an hour "
            f"per running instance (approximate, as of {price_table().as_of})"
        )
        if config.get("min_instances"):
            billing += (
                f"; {config['min_instances']} always on "
                f"≈ {usd(rate * 3600 * 24 * config['min_instances'])} a day"
            )
    return DeploymentInfo(
        deployment=slug,
        model=release.model if release else None,
        version=release.version if release else None,
        hardware=hardware,
        min_instances=config.get("min_instances"),
        max_instances=config.get("max_instances"),
        release=release.number if release else None,
        updated_at=release.created_at if release else None,
        billing=billing,
        run_with=f"run_model with model 'deployments/{slug}'",
    )


def _split(name: str, field: str = "name") -> tuple[str, str]:
    owner, _, rest = (name or "").strip().lower().partition("/")
    if not owner or not rest or not NAME.match(owner) or not NAME.match(rest):
        raise ToolError(f"{field}: {name!r} is not owner/name (e.g. yourname/my-deployment)")
    return owner, rest


def _instances(min_instances: int | None, max_instances: int | None) -> None:
    if min_instances is not None and not 0 <= min_instances <= 5:
        raise ToolError(f"min_instances must be from 0 to 5 (got {min_instances})")
    if max_instances is not None and not 0 <= max_instances <= 20:
        raise ToolError(f"max_instances must be from 0 to 20 (got {max_instances})")
    if min_instances is not None and max_instances is not None and min_instances > max_instances:
        raise ToolError(f"min_instances ({min_instances}) must not be above max_instances ({max_instances})")


async def _hardware(svc: Services, sku: str | None) -> None:
    if sku is None:
        return
    skus = [h.sku for h in await svc.client.list_hardware()]
    if sku not in skus:
        raise ToolError(f"hardware: {sku!r} is not a hardware SKU; choose one of {', '.join(skus)}")


async def _version(svc: Services, model: str) -> tuple[str, str]:
    """owner/name and a version id: the one given, else the model's latest."""
    match = MODEL_VERSION.match((model or "").strip().lower())
    if match is None:
        raise ToolError(f"model: {model!r} is not owner/name or owner/name:<64-hex version id>")
    slug, version = match.group(1), match.group(2)
    owner, name = slug.split("/")
    try:
        if version:
            await svc.client.get_model_version(owner, name, version)
            return slug, version
        found = await svc.client.get_model(owner, name)
    except NotFoundError:
        raise ToolError(f"model: {model!r} was not found on Replicate (search_models finds models)") from None
    if found.latest_version is None or not found.latest_version.id:
        raise ToolError(f"model: {slug} has no version to deploy")
    if found.is_official:
        raise ToolError(
            f"model: {slug} is an official model; Replicate runs those itself, so they are not deployed"
        )
    return slug, found.latest_version.id


async def _get(svc: Services, name: str) -> Any:
    owner, rest = _split(name)
    try:
        return await svc.client.get_deployment(owner, rest)
    except NotFoundError:
        raise ToolError(
            f"name: no deployment {owner}/{rest} on this account; list_deployments shows them"
        ) from None


def register_deployment_tools(server: MCPServer, *, read_only: bool) -> None:
    @server.tool(annotations=READ)
    @tool_errors
    async def list_deployments(
        ctx: Context,
        cursor: Annotated[str | None, Field(description="next_cursor from a previous page")] = None,
    ) -> Annotated[CallToolResult, DeploymentList]:
        """This account's deployments: model, version, hardware, instances."""
        svc = services(ctx)
        page = await svc.client.list_deployments(cursor=cursor)
        items = [_info(d) for d in page.results]
        for item in items:
            item.billing = item.run_with = None
        return bounded_result(
            DeploymentList(deployments=items, next_cursor=page.next), svc.settings.max_response_chars
        )

    @server.tool(annotations=READ)
    @tool_errors
    async def get_deployment(name: DeploymentArg, ctx: Context) -> Annotated[CallToolResult, DeploymentInfo]:
        """A deployment: its model, version, hardware, min/max instances and what it costs to keep up."""
        svc = services(ctx)
        return bounded_result(_info(await _get(svc, name)), svc.settings.max_response_chars)

    if read_only:
        return

    @server.tool(annotations=CREATE)
    @tool_errors
    async def create_deployment(
        name: Annotated[str, Field(description="New deployment's name (no owner)")],
        model: Annotated[str, Field(description="owner/name (latest version) or owner/name:version")],
        hardware: Annotated[str, Field(description="Hardware SKU (list_hardware)")],
        ctx: Context,
        min_instances: int = 0,
        max_instances: int = 1,
    ) -> Annotated[CallToolResult, DeploymentInfo]:
        """Deploy a model version on chosen hardware; run it with run_model 'deployments/owner/name'."""
        svc = services(ctx)
        if not isinstance(name, str) or not NAME.match(name.strip().lower()):
            raise ToolError(f"name: {name!r} is not a deployment name (lowercase letters, digits, - _ .)")
        _instances(min_instances, max_instances)
        slug, version = await _version(svc, model)
        await _hardware(svc, hardware)
        try:
            made = await svc.client.create_deployment(
                name=name.strip().lower(),
                model=slug,
                version=version,
                hardware=hardware,
                min_instances=min_instances,
                max_instances=max_instances,
            )
        except ReplicateError as exc:
            if exc.status == 409:
                raise ToolError(
                    f"name: a deployment named {name!r} already exists; update_deployment changes it"
                ) from None
            raise
        return bounded_result(_info(made), svc.settings.max_response_chars)

    @server.tool(annotations=UPDATE)
    @tool_errors
    async def update_deployment(
        name: DeploymentArg,
        ctx: Context,
        version: Annotated[str | None, Field(description="Version id to deploy (same model)")] = None,
        hardware: Annotated[str | None, Field(description="Hardware SKU")] = None,
        min_instances: int | None = None,
        max_instances: int | None = None,
    ) -> Annotated[CallToolResult, DeploymentInfo]:
        """Change a deployment's version, hardware or instance limits (a new release)."""
        svc = services(ctx)
        current = await _get(svc, name)
        fields: dict[str, Any] = {
            k: v
            for k, v in (
                ("version", version),
                ("hardware", hardware),
                ("min_instances", min_instances),
                ("max_instances", max_instances),
            )
            if v is not None
        }
        if not fields:
            raise ToolError("give at least one of version, hardware, min_instances, max_instances to change")
        config = (current.current_release.configuration if current.current_release else None) or {}
        _instances(
            fields.get("min_instances", config.get("min_instances")),
            fields.get("max_instances", config.get("max_instances")),
        )
        if version is not None and not re.fullmatch(r"[0-9a-f]{64}", version.strip()):
            raise ToolError(
                f"version: {version!r} is not a 64-hex version id (get_model shows recent versions)"
            )
        await _hardware(svc, hardware)
        try:
            updated = await svc.client.update_deployment(current.owner, current.name, **fields)
        except NotFoundError:
            raise ToolError(
                f"version: {version} is not a version of {current.current_release.model}"
            ) from None
        return bounded_result(_info(updated), svc.settings.max_response_chars)

    @server.tool(annotations=DELETE)
    @tool_errors
    async def delete_deployment(
        name: DeploymentArg,
        ctx: Context,
        confirm: Annotated[
            bool, Field(description="Must be true: the deployment is deleted for good")
        ] = False,
    ) -> Annotated[CallToolResult, Deleted]:
        """Delete a deployment (needs confirm: true). Runs through it stop working."""
        svc = services(ctx)
        current = await _get(svc, name)
        slug = f"{current.owner}/{current.name}"
        if confirm is not True:
            raise ToolError(
                f"confirm: deleting {slug} cannot be undone; call again with confirm true if the user "
                "asked for it. Nothing was deleted."
            )
        await svc.client.delete_deployment(current.owner, current.name)
        return bounded_result(Deleted(deleted=slug), svc.settings.max_response_chars)
