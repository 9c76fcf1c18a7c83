"""At most as many requests in flight as the database pool has connections.

A request's unit of work holds one pooled connection from its first query to its commit, and its
synchronous steps (dependencies, then the endpoint) each wait for a worker thread. With more
requests in flight than connections, every worker thread can end up waiting for a connection while
the requests holding the connections wait for a worker thread to finish: nothing moves until the
pool times out and all of them fail. Queueing requests at the door, in the event loop where waiting
costs nothing, keeps the number in flight at most the pool's size, so a request that holds a
connection always gets a thread (the thread pool is larger) and load turns into latency, not errors.
"""

from __future__ import annotations

import asyncio
import weakref

from starlette.types import ASGIApp, Receive, Scope, Send


class RequestSlots:
    """Pure ASGI middleware: HTTP requests wait for one of ``slots`` places before they run."""

    def __init__(self, app: ASGIApp, slots: int) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.app = app
        self.slots = slots
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _semaphore(self) -> asyncio.Semaphore:
        # one per event loop: a test client runs the app in a loop of its own
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.slots)
        return semaphore

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self._semaphore():
            await self.app(scope, receive, send)
