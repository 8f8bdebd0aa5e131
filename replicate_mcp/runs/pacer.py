"""A request pacer: at most `rate` requests a second across all followers, watched predictions first.

One dispatcher hands out slots from two queues, so thousands of waiting followers cost no wake-ups; a 429 from
Replicate pauses every slot until its reset.
"""

from __future__ import annotations

from collections import deque

import anyio


class Pacer:
    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._urgent: deque[anyio.Event] = deque()
        self._background: deque[anyio.Event] = deque()
        self._wake = anyio.Event()
        self._paused_until = 0.0
        self.granted = 0

    @property
    def waiting(self) -> int:
        return len(self._urgent) + len(self._background)

    async def acquire(self, *, urgent: bool = False) -> None:
        slot = anyio.Event()
        (self._urgent if urgent else self._background).append(slot)
        self._wake.set()
        try:
            await slot.wait()
        except BaseException:
            for queue in (self._urgent, self._background):
                if slot in queue:
                    queue.remove(slot)
            raise

    def pause(self, seconds: float) -> None:
        """Replicate said to slow down: no slot is handed out for `seconds`."""
        self._paused_until = max(self._paused_until, anyio.current_time() + seconds)

    async def run(self) -> None:
        while True:
            if not self._urgent and not self._background:
                self._wake = anyio.Event()
                await self._wake.wait()
                continue
            delay = self._paused_until - anyio.current_time()
            if delay > 0:
                await anyio.sleep(delay)
            queue = self._urgent or self._background
            queue.popleft().set()
            self.granted += 1
            await anyio.sleep(self.interval)
