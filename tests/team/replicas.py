"""Several replicas of the server behind one endpoint, as a team runs it: real processes, Redis, an S3 store.

`RoundRobin` is the load balancer: a TCP proxy on loopback that sends each new connection to the next backend
that accepts it (a dead replica is skipped, as a health-checking balancer would).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2

from tests.conftest import free_port


class RoundRobin:
    def __init__(self, backends: list[int], *, port: int | None = None) -> None:
        self.backends = backends
        self.port = port or free_port()
        self._next = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self._server = server
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(len(self.backends)):
            port = self.backends[self._next % len(self.backends)]
            self._next += 1
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                continue
        else:
            writer.close()
            return

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    def close(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@dataclass
class Replica:
    port: int
    process: subprocess.Popen
    data_dir: Path

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


def start_replicas(
    count: int,
    *,
    tmp: Path,
    sandbox_url: str,
    redis_url: str,
    s3_url: str,
    s3_env: dict[str, str],
    extra: list[str] = (),
) -> list[Replica]:
    replicas = []
    tmp.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        port = free_port()
        data_dir = tmp / f"replica{n}"
        env = {"PATH": os.environ.get("PATH", ""), **s3_env}
        args = [
            sys.executable,
            "-m",
            "replicate_mcp",
            "--transport",
            "http",
            "--port",
            str(port),
            "--base-url",
            sandbox_url,
            "--state",
            redis_url,
            "--archive-to",
            s3_url,
            "--data-dir",
            str(data_dir),
            "--output-dir",
            str(data_dir / "out"),
            *extra,
        ]
        log = open(tmp / f"replica{n}.log", "wb")  # noqa: SIM115 - the process owns it
        process = subprocess.Popen(
            args, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        replicas.append(Replica(port, process, data_dir))
    for replica in replicas:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"http://127.0.0.1:{replica.port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline or replica.process.poll() is not None:
                raise RuntimeError(
                    f"replica on port {replica.port} did not start: "
                    + (tmp / f"replica{replicas.index(replica)}.log").read_text()[-2000:]
                )
            time.sleep(0.1)
    return replicas
