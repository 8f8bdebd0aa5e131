"""Each tenant's Replicate client: its own token when users bring theirs, else the server's.

A token a user brings is kept sealed (Fernet, with REPLICATE_MCP_STATE_KEY) in the shared state, so that
another replica, or this one after a restart, can keep following that user's runs; it is never written in
clear. Without a state key the seal's key lives only in this process: runs are then followed here until it
exits, and anywhere once their owner calls again.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Protocol

import httpx2

from replicate_mcp.api import ReplicateClient

log = logging.getLogger(__name__)


class SecretStore(Protocol):
    def put_secret(self, name: str, sealed: str) -> None: ...
    def get_secret(self, name: str) -> str | None: ...


class TenantClients:
    def __init__(
        self,
        default: ReplicateClient,
        *,
        http: httpx2.AsyncClient | None = None,
        store: SecretStore | None = None,
        state_key: str | None = None,
    ) -> None:
        self.default = default
        self._http = http
        self._store = store
        self._state_key = state_key
        self._sealer: Any = None  # a Fernet, made when a user's token is first sealed or opened
        self._clients: dict[str, tuple[str, ReplicateClient]] = {}  # tenant -> (token digest, client)

    def remember(self, tenant: str, token: str) -> ReplicateClient:
        """The client for a tenant who just called with `token` (verified by the auth layer)."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        known = self._clients.get(tenant)
        if known is not None and known[0] == digest:
            return known[1]
        client = self._make(token)
        self._clients[tenant] = (digest, client)
        if self._store is not None:
            self._store.put_secret(f"token:{tenant}", self._fernet().encrypt(token.encode()).decode())
        return client

    def __call__(self, tenant: str) -> ReplicateClient:
        """For the supervisor: the tenant's own client if its token is known here or unsealable,
        else the server's."""
        known = self._clients.get(tenant)
        if known is not None:
            return known[1]
        if self._store is not None:
            sealed = self._store.get_secret(f"token:{tenant}")
            if sealed:
                from cryptography.fernet import InvalidToken

                try:
                    return self.remember(tenant, self._fernet().decrypt(sealed.encode()).decode())
                except InvalidToken:
                    log.warning(
                        "the token of tenant %s was sealed with another REPLICATE_MCP_STATE_KEY", tenant
                    )
        return self.default

    def _fernet(self) -> Any:
        if self._sealer is None:
            from cryptography.fernet import Fernet

            self._sealer = Fernet(self._state_key.encode() if self._state_key else Fernet.generate_key())
        return self._sealer

    def _make(self, token: str) -> ReplicateClient:
        return ReplicateClient(token, base_url=self.default.base_url, http_client=self._http)
