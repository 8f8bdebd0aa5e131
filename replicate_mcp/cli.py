"""`replicate-mcp`: serve the MCP server (default), run the local sandbox API, or run the demo."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, Protocol

from replicate_mcp import __version__
from replicate_mcp.config import ENVIRONMENT, ConfigError, load_settings

SUBCOMMANDS = ("serve", "sandbox", "demo")


class _TakesArguments(Protocol):
    """A parser, or one of its argument groups."""

    def add_argument(self, *args: Any, **kwargs: Any) -> Any: ...


def _serve_arguments(parser: _TakesArguments) -> None:
    add = parser.add_argument
    add(
        "--transport",
        choices=["stdio", "http"],
        help="stdio (default) or streamable HTTP [REPLICATE_MCP_TRANSPORT]",
    )
    add("--host", help="HTTP transport: address to bind (default 127.0.0.1) [REPLICATE_MCP_HOST]")
    add("--port", type=int, help="HTTP transport: port (default 8000) [REPLICATE_MCP_PORT]")
    add(
        "--allowed-hosts",
        metavar="LIST",
        help="HTTP: comma-separated Host values accepted besides loopback, e.g. mcp.example.com "
        "[REPLICATE_MCP_ALLOWED_HOSTS]",
    )
    add(
        "--allowed-origins",
        metavar="LIST",
        help="HTTP: comma-separated browser Origins accepted besides loopback, e.g. https://app.example.com "
        "[REPLICATE_MCP_ALLOWED_ORIGINS]",
    )
    add(
        "--allow-unauthenticated",
        action="store_true",
        default=None,
        help="HTTP: serve a non-loopback --host without REPLICATE_MCP_HTTP_TOKEN (unsafe) "
        "[REPLICATE_MCP_ALLOW_UNAUTHENTICATED]",
    )
    add(
        "--auth",
        choices=["none", "replicate-token", "oauth"],
        help="HTTP: who may call. replicate-token: each user sends their own Replicate token as the bearer; "
        "oauth: access tokens (JWT) of the team's identity provider, models run with REPLICATE_API_TOKEN "
        "[REPLICATE_MCP_AUTH]",
    )
    add(
        "--auth-cache-ttl",
        type=float,
        metavar="SECONDS",
        help="--auth replicate-token: seconds a checked token is trusted before GET /v1/account again (300) "
        "[REPLICATE_MCP_AUTH_CACHE_TTL]",
    )
    add(
        "--oauth-issuer",
        metavar="URL",
        help="--auth oauth: the issuer (iss) of access tokens [REPLICATE_MCP_OAUTH_ISSUER]",
    )
    add(
        "--oauth-audience",
        metavar="AUD",
        help="--auth oauth: the audience (aud) tokens must carry "
        "(default PUBLIC_URL/mcp) [REPLICATE_MCP_OAUTH_AUDIENCE]",
    )
    add(
        "--oauth-jwks-url",
        metavar="URL",
        help="--auth oauth: the issuer's signing keys "
        "(default: jwks_uri from its metadata) [REPLICATE_MCP_OAUTH_JWKS_URL]",
    )
    add(
        "--oauth-scopes",
        metavar="LIST",
        help="--auth oauth: comma-separated scopes every token must hold [REPLICATE_MCP_OAUTH_SCOPES]",
    )
    add(
        "--sandbox",
        action="store_true",
        default=None,
        help="serve against an embedded local sandbox API: no token, no cost [REPLICATE_MCP_SANDBOX]",
    )
    add(
        "--sandbox-time-scale",
        type=float,
        help="embedded sandbox: wall seconds per model second (0.1) [REPLICATE_MCP_SANDBOX_TIME_SCALE]",
    )
    add("--base-url", help="Replicate API base URL, with or without /v1 [REPLICATE_BASE_URL]")
    add(
        "--read-only",
        action="store_true",
        default=None,
        help="offer no tool that creates or cancels predictions or uploads files [REPLICATE_MCP_READ_ONLY]",
    )
    add(
        "--allow-models",
        metavar="LIST",
        help="comma-separated owner/name or owner/* the server may run; "
        "others are refused [REPLICATE_MCP_ALLOW_MODELS]",
    )
    add(
        "--wait-seconds",
        type=float,
        help="default wait of run_model/wait_for_prediction (45) [REPLICATE_MCP_WAIT_SECONDS]",
    )
    add("--max-wait", type=float, help="cap on any wait, in seconds (50) [REPLICATE_MCP_MAX_WAIT]")
    add(
        "--allow-dir",
        action="append",
        metavar="DIR",
        type=Path,
        help="folder whose files may be sent as model inputs; "
        "repeatable [REPLICATE_MCP_ALLOW_DIRS, os.pathsep-separated]",
    )
    add("--data-dir", type=Path, help="folder for the ledger and upload cache [REPLICATE_MCP_DATA_DIR]")
    add("--output-dir", type=Path, help="folder where output files are saved [REPLICATE_MCP_OUTPUT_DIR]")
    add(
        "--no-archive",
        dest="archive",
        action="store_false",
        default=None,
        help="do not download output files [REPLICATE_MCP_ARCHIVE=0]",
    )
    add(
        "--no-inline-images",
        dest="inline_images",
        action="store_false",
        default=None,
        help="do not attach image thumbnails to results [REPLICATE_MCP_INLINE_IMAGES=0]",
    )
    add(
        "--max-response-chars",
        type=int,
        help="cap on one tool result's text (20000) [REPLICATE_MCP_MAX_RESPONSE_CHARS]",
    )
    add(
        "--cancel-after",
        metavar="DURATION",
        help="lifetime of every prediction this server creates, sent as Cancel-After "
        "(15m) [REPLICATE_MCP_CANCEL_AFTER]",
    )
    add(
        "--max-cancel-after",
        metavar="DURATION",
        help="the longest lifetime a call's cancel_after may ask for (1h) [REPLICATE_MCP_MAX_CANCEL_AFTER]",
    )
    add(
        "--public-url",
        metavar="URL",
        help="HTTP: the address Replicate reaches this server at; creates then carry a webhook to "
        "URL/webhooks/replicate [REPLICATE_MCP_PUBLIC_URL]",
    )
    add(
        "--poll-rate",
        type=float,
        help="requests a second the server may spend following predictions "
        "(30, at most 100) [REPLICATE_MCP_POLL_RATE]",
    )
    add(
        "--poll-interval",
        type=float,
        help="seconds between two polls of one prediction (2; "
        "below 2 only against a sandbox) [REPLICATE_MCP_POLL_INTERVAL]",
    )
    add(
        "--state",
        metavar="URL",
        help="where the ledger, leases and events live: redis://host:port/db to share them between replicas "
        "(default: SQLite in the data folder) [REPLICATE_MCP_STATE]",
    )
    add(
        "--archive-to",
        metavar="URL",
        help="s3://bucket/prefix: keep output files in an S3-compatible store "
        "(credentials from AWS_* variables) [REPLICATE_MCP_ARCHIVE_TO]",
    )
    add(
        "--lease-seconds",
        type=float,
        help="with --state redis://: how long a dead replica's runs wait before another takes them over (15) "
        "[REPLICATE_MCP_LEASE_SECONDS]",
    )
    add(
        "--max-runs-per-tenant",
        type=int,
        help="runs one person may have going at once (default: no limit) [REPLICATE_MCP_MAX_RUNS_PER_TENANT]",
    )
    add(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="stderr log level [REPLICATE_MCP_LOG_LEVEL]",
    )
    add(
        "--toolsets",
        metavar="LIST",
        help="comma-separated tool groups: core (default), training, deployments, account, "
        "all [REPLICATE_MCP_TOOLSETS]",
    )
    add(
        "--max-cost-per-run",
        metavar="USD",
        type=float,
        help="refuse a run whose estimated cost is above this [REPLICATE_MCP_MAX_COST_PER_RUN]",
    )
    add(
        "--budget",
        metavar="USD",
        type=float,
        help="cap on the estimated spend of this server process; "
        "runs past it are refused [REPLICATE_MCP_BUDGET]",
    )
    add(
        "--confirm-above",
        metavar="USD",
        type=float,
        help="ask the user (MCP elicitation) before a run estimated above this [REPLICATE_MCP_CONFIRM_ABOVE]",
    )
    add(
        "--docs-url",
        metavar="URL",
        help="where Replicate's Markdown docs are read (https://replicate.com) [REPLICATE_MCP_DOCS_URL]",
    )


def _sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    add("--port", type=int, default=8765, help="port (default 8765)")
    add(
        "--time-scale",
        type=float,
        default=1.0,
        help="wall seconds per model second (0.01 runs a 60 s model in 0.6 s)",
    )
    add("--seed", type=int, help="seed for ids, outputs and faults")
    add("--cold-boot", type=float, default=1.0, help="model seconds a prediction spends starting")
    add(
        "--data-retention", type=float, default=3600.0, help="model seconds before inputs/outputs are removed"
    )
    add("--token", help="accept only this token (default: any token starting with r8_)")
    add(
        "--account",
        action="append",
        default=[],
        metavar="TOKEN=USERNAME",
        help="the account a token belongs to (default: user-<hash of the token>); repeatable",
    )
    add(
        "--allow-insecure-webhooks",
        action="store_true",
        help="accept and deliver plain http:// webhook URLs (like Replicate, https:// only by default)",
    )
    add(
        "--catalog",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="JSON file of extra model objects (a list or a page with results); repeatable",
    )
    add("--create-limit", type=int, default=600, help="prediction creates a minute before 429")
    add("--other-limit", type=int, default=3000, help="other requests a minute before 429")
    for kind in ("429", "500", "503", "drop", "slow"):
        add(
            f"--fault-{kind}",
            type=float,
            default=0.0,
            metavar="RATE",
            help=f"fraction of requests answered with {kind}",
        )
    add("--slow-seconds", type=float, default=2.0, help="delay of a slow response")


def _serve_help() -> str:
    """The serve options as help text: `replicate-mcp --help` shows them,
    since serve is the default command."""
    helper = argparse.ArgumentParser(prog="replicate-mcp", usage=argparse.SUPPRESS, add_help=False)
    group = helper.add_argument_group("server options (serve, the default: replicate-mcp [serve] [options])")
    _serve_arguments(group)
    env_only = ", ".join(variable for variable, flag in ENVIRONMENT.values() if flag is None)
    return (
        helper.format_help().strip("\n")
        + "\n\nEach option also reads the environment variable in brackets; flags win."
        + f"\nEnvironment only: {env_only}."
        + "\nREPLICATE_API_TOKEN is your Replicate API token (not needed with --sandbox)."
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="replicate-mcp",
        description="MCP server for Replicate: search, schema-checked runs, "
        "waiting with progress, saved outputs.",
        epilog=_serve_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"replicate-mcp {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{serve,sandbox,demo}")
    _serve_arguments(commands.add_parser("serve", help="run the MCP server (stdio by default)"))
    _sandbox_arguments(commands.add_parser("sandbox", help="run the local Replicate-compatible API"))
    demo = commands.add_parser("demo", help="a scripted tour through a real MCP client against the sandbox")
    demo.add_argument("--time-scale", type=float, default=0.05, help="sandbox time scale (default 0.05)")
    return parser


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "serve")
    args = build_parser().parse_args(argv)
    if args.command == "sandbox":
        _run_sandbox(args)
    elif args.command == "demo":
        from replicate_mcp.demo import run_demo

        sys.exit(run_demo(time_scale=args.time_scale))
    else:
        _run_server(args)


def _run_server(args: argparse.Namespace) -> None:
    lists = ("allow_models", "allowed_hosts", "allowed_origins", "oauth_scopes", "toolsets")
    overrides = {k: v for k, v in vars(args).items() if k not in ("command", "allow_dir", *lists)}
    for name in lists:
        if getattr(args, name):
            overrides[name] = tuple(p.strip() for p in getattr(args, name).split(",") if p.strip())
    overrides["allow_dirs"] = tuple(args.allow_dir or ())
    try:
        settings = load_settings(overrides)
    except ConfigError as exc:
        sys.exit(f"replicate-mcp: {exc}")
    logging.basicConfig(
        level=settings.log_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    from replicate_mcp.server import run_server

    run_server(settings)


def _run_sandbox(args: argparse.Namespace) -> None:
    from replicate_mcp.sandbox import SandboxConfig, serve

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if args.time_scale <= 0:
        sys.exit("replicate-mcp sandbox: --time-scale must be greater than 0")
    accounts = dict(item.split("=", 1) for item in args.account if "=" in item)
    if len(accounts) != len(args.account):
        sys.exit("replicate-mcp sandbox: --account takes TOKEN=USERNAME, e.g. --account r8_alice=alice")
    config = SandboxConfig(
        accounts=accounts,
        time_scale=args.time_scale,
        seed=args.seed,
        cold_boot=args.cold_boot,
        data_retention=args.data_retention,
        token=args.token,
        create_limit=args.create_limit,
        other_limit=args.other_limit,
        catalog_files=list(args.catalog),
        fault_429=args.fault_429,
        fault_500=args.fault_500,
        fault_503=args.fault_503,
        fault_drop=args.fault_drop,
        fault_slow=args.fault_slow,
        slow_seconds=args.slow_seconds,
        allow_insecure_webhooks=args.allow_insecure_webhooks,
    )
    print(f"replicate-mcp sandbox: http://{args.host}:{args.port}/v1", file=sys.stderr)
    serve(config, host=args.host, port=args.port)
