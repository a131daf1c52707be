"""A local news site on 127.0.0.1 for the source tests: feeds, article pages, and faults.

A real HTTP server (aiohttp, in its own thread and event loop, like ``fake_edge.py``), so
bulletin's real fetching code runs against real sockets: redirects, status codes,
``ETag`` / ``If-None-Match``, a server that stalls, one that sends without end.

Routes are set per test with :meth:`NewsSite.add` (a body, a status, headers) or one of
the faults: ``stall`` (accepts and never answers), ``endless`` (200, then bytes forever),
``redirect`` (302 to another path or URL), ``trickle`` (200, then a byte a second).
Every request is logged in :attr:`NewsSite.requests`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from dataclasses import dataclass, field
from types import TracebackType

from aiohttp import web


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    fault: str | None = None  # stall, endless, redirect, trickle (one byte a second, without end)
    target: str | None = None  # for redirect
    etag: bool = False  # answer If-None-Match with 304
    fail_times: int = 0  # answer 503 this many times first


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    status: int = 0


@dataclass
class NewsSite:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    def add(self, path: str, body: bytes | str = b"", **kw: object) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **kw)  # type: ignore[arg-type]
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        logged = Request(request.path, dict(request.headers))
        self.requests.append(logged)
        route = self.routes.get(request.path)
        if route is None:
            logged.status = 404
            return web.Response(status=404, text="not found")
        if route.fail_times > 0:
            route.fail_times -= 1
            logged.status = 503
            return web.Response(status=503, text="busy")
        if route.fault == "stall":
            await asyncio.sleep(3600)
        if route.fault == "redirect":
            logged.status = 302
            raise web.HTTPFound(location=route.target or "/")
        if route.fault == "trickle":  # slowloris: headers at once, then a byte now and then
            response = web.StreamResponse(status=200, headers={"Content-Type": route.content_type})
            await response.prepare(request)
            try:
                while True:
                    await response.write(b" ")
                    await asyncio.sleep(1)
            except (ConnectionResetError, RuntimeError, asyncio.CancelledError):
                return response
        if route.fault == "endless":
            response = web.StreamResponse(status=200, headers={"Content-Type": route.content_type})
            await response.prepare(request)
            chunk = b"<p>" + "很長的新聞。".encode() * 2000 + b"</p>"
            try:
                while True:
                    await response.write(chunk)
            except (ConnectionResetError, RuntimeError, asyncio.CancelledError):
                return response
        tag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
        headers = {"ETag": tag} if route.etag else {}
        if route.etag and request.headers.get("If-None-Match") == tag:
            logged.status = 304
            return web.Response(status=304, headers=headers)
        logged.status = route.status
        return web.Response(
            status=route.status, body=route.body, headers={"Content-Type": route.content_type, **headers}
        )

    def __enter__(self) -> NewsSite:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def start() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, shutdown_timeout=0.1)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(start())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        async def stop() -> None:
            await self._runner.cleanup()
            # a stalled handler outlives the runner: cancel it, so the loop closes quietly
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        future = asyncio.run_coroutine_threadsafe(stop(), self._loop)
        with contextlib.suppress(Exception):
            future.result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
