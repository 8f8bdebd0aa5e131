"""Accounts: as on Replicate, every API token belongs to one account, and an account sees only its own things.

An account's predictions, trainings, files, private models and deployments are invisible to every other
account (404, as Replicate answers); catalog models and public models are visible to all. A token's username
comes from `SandboxConfig.accounts` (token -> username) when listed there; otherwise it is derived from the
token, stable across restarts: `user-` and the first 10 hex digits of its SHA-256. Tokens starting
`r8_sandbox` (the embedded sandbox's own and the test suite's) belong to the house account `sandbox`. Each
account starts with one deployment, `<username>/hello-world-dep`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request

HOUSE_USERNAME = "sandbox"
HOUSE_PREFIX = "r8_sandbox"
HOUSE_ACCOUNT = {
    "type": "user",
    "username": HOUSE_USERNAME,
    "name": "Sandbox User",
    "github_url": "https://github.com/replicate-mcp",
}


def token_of(headers: Any) -> str | None:
    """The token of `Authorization: Bearer <token>` (or Replicate's older `Token <token>`)."""
    scheme, _, token = (headers.get("authorization") or "").strip().partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "token") and token.strip() else None


def username_for(token: str, accounts: dict[str, str]) -> str:
    if token in accounts:
        return accounts[token]
    if token.startswith(HOUSE_PREFIX):
        return HOUSE_USERNAME
    return "user-" + hashlib.sha256(token.encode()).hexdigest()[:10]


def account_json(username: str) -> dict[str, Any]:
    if username == HOUSE_USERNAME:
        return dict(HOUSE_ACCOUNT)
    return {
        "type": "user",
        "username": username,
        "name": username,
        "github_url": f"https://github.com/{username}",
    }


def caller(request: Request) -> str:
    """The username of the account whose token made `request` (the gate has already refused a missing one)."""
    sandbox = request.app.state.sandbox
    token = token_of(request.headers) or ""
    username = username_for(token, sandbox.config.accounts)
    sandbox.registry.open_account(username)
    return username
