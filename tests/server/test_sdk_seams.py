"""The SDK's private state this server reaches into, each with the shape it is used in.

Every reach carries a comment naming why no public API does it (grep "SDK private state" in
replicate_mcp/server); this file fails when an `mcp` release renames or reshapes one of
them, before a tool call finds out.
"""

import inspect

import pytest
from mcp import Client
from mcp.server import MCPServer
from mcp.server.connection import Connection
from mcp.server.lowlevel.server import HandlerEntry
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools.base import Tool
from mcp.server.session import ServerSession
from mcp.server.subscriptions import ResourceUpdated, SubscriptionBus
from mcp.types import CompleteRequestParams, CompleteResult, Completion, PromptReference

pytestmark = pytest.mark.anyio


def _toy_server() -> MCPServer:
    server = MCPServer("seams")

    @server.tool()
    def double(x: int) -> int:
        """Twice x."""
        return 2 * x

    return server


def test_the_tool_manager_hands_out_the_registered_tools_whose_schemas_app_compacts():
    """app._compact_tool_schemas rewrites `parameters` and `fn_metadata.output_schema`;
    tasks looks tools up."""
    manager = _toy_server()._tool_manager
    assert inspect.signature(manager.list_tools).parameters == {}
    [tool] = manager.list_tools()
    assert isinstance(tool, Tool) and tool.name == "double"
    assert tool.parameters["properties"]["x"]["type"] == "integer"
    assert tool.fn_metadata.output_schema["properties"]["result"]["type"] == "integer"
    assert manager.get_tool("double") is tool
    assert manager.get_tool("triple") is None


async def test_a_compacted_schema_is_the_one_clients_list():
    server = _toy_server()
    [tool] = server._tool_manager.list_tools()
    tool.parameters = {**tool.parameters, "description": "rewritten"}
    tool.fn_metadata.output_schema = {**tool.fn_metadata.output_schema, "description": "rewritten too"}
    async with Client(server, mode="legacy") as client:
        [listed] = (await client.list_tools()).tools
    assert listed.input_schema["description"] == "rewritten"
    assert listed.output_schema["description"] == "rewritten too"


def test_the_low_level_server_adds_and_returns_request_handlers():
    """completions, client_logging and app add handlers; client_logging wraps server/discover's."""
    lowlevel = _toy_server()._lowlevel_server
    assert list(inspect.signature(lowlevel.add_request_handler).parameters) == [
        "method",
        "params_type",
        "handler",
    ]
    assert list(inspect.signature(lowlevel.get_request_handler).parameters) == ["method"]
    discover = lowlevel.get_request_handler("server/discover")
    assert isinstance(discover, HandlerEntry)
    assert inspect.isclass(discover.params_type) and callable(discover.handler)
    assert lowlevel.get_request_handler("no/such-method") is None


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_handler_added_on_the_low_level_server_answers_with_the_request_context(mode):
    server = _toy_server()
    seen = []

    async def complete(ctx, params: CompleteRequestParams) -> CompleteResult:
        seen.append((type(ctx.session), ctx.lifespan_context))
        return CompleteResult(completion=Completion(values=[params.argument.value.upper()]))

    server._lowlevel_server.add_request_handler("completion/complete", CompleteRequestParams, complete)
    async with Client(server, mode=mode) as client:
        answer = await client.complete(
            PromptReference(type="ref/prompt", name="any"), {"name": "a", "value": "ab"}
        )
    assert answer.completion.values == ["AB"]
    assert seen == [(ServerSession, {})]


def test_the_subscription_bus_publishes_and_subscribes():
    """app hands MCPServer's own bus to PredictionUpdates, which publishes on it and listens to it."""
    bus = _toy_server()._subscriptions
    assert {"publish", "subscribe"} <= set(dir(SubscriptionBus))
    assert list(inspect.signature(bus.publish).parameters) == ["event"]
    assert list(inspect.signature(bus.subscribe).parameters) == ["listener"]


async def test_the_bus_delivers_what_is_published_to_a_subscriber():
    bus = _toy_server()._subscriptions
    got = []
    unsubscribe = bus.subscribe(got.append)
    await bus.publish(ResourceUpdated(uri="replicate://predictions/abc"))
    unsubscribe()
    await bus.publish(ResourceUpdated(uri="replicate://predictions/def"))
    assert [event.uri for event in got] == ["replicate://predictions/abc"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_session_holds_its_connection_for_the_client_s_later_calls(mode):
    """client_logging and prediction_resources key per-client state by `ctx.session._connection`."""
    server = MCPServer("seams")
    connections = []

    @server.tool()
    def where(ctx: Context) -> str:
        """The connection of this call."""
        connection = ctx.request_context.session._connection
        connections.append(connection)
        return type(connection).__name__

    async with Client(server, mode=mode) as client:
        await client.call_tool("where", {})
        await client.call_tool("where", {})
    assert all(isinstance(c, Connection) for c in connections) and len(connections) == 2
    if mode == "legacy":  # one session, one connection for all its calls
        assert connections[0] is connections[1]
