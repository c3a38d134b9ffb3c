"""A listener's connections over real sockets on 127.0.0.1: the cap and the timeouts.

The timeouts are made short through the ``[server]`` keys, and each test waits for the
server to act (a closed socket, an answer) rather than for a fixed time.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import types
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from bot.config import ServerConfig
from bot.listen import listen
from bot.listen.connections import Notes

LONG = 60.0  # a timeout that must not be the one that acts
WAIT = 10.0  # the most a test waits for the server to act: a bound, not a measurement

Serve = Callable[..., Awaitable[int]]


def build_app(release: asyncio.Event) -> web.Application:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text=f"hello {len(await request.read())}")

    async def hold(_request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="held")

    app = web.Application(client_max_size=1024)
    app.router.add_route("*", "/", hello)
    app.router.add_get("/hold", hold)
    return app


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve the test app through `listen` with the given ``[server]`` limits: its port."""
    runners: list[web.AppRunner] = []
    release = asyncio.Event()

    async def start(**limits: float) -> int:
        config = ServerConfig(
            **{
                "idle_timeout_seconds": LONG,
                "header_timeout_seconds": LONG,
                "body_timeout_seconds": LONG,
                **limits,
            }
        )
        runner, port = await listen(
            build_app(release),
            "127.0.0.1",
            0,
            name="test",
            keys="test.port",
            shutdown_timeout=1,
            limits=config,
        )
        runners.append(runner)
        return port

    yield start
    release.set()
    for runner in runners:
        await runner.cleanup()


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    async with asyncio.timeout(WAIT):
        return await reader.read()


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def request(port: int, raw: bytes) -> bytes:
    """Send `raw` on a new connection and read the whole answer (it asks to close)."""
    reader, writer = await connect(port)
    writer.write(raw)
    answer = await closed_by_server(reader)
    writer.close()
    return answer


GET = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_an_idle_connection_is_closed_after_the_idle_timeout(serve):
    port = await serve(idle_timeout_seconds=0.2)
    reader, writer = await connect(port)

    assert await closed_by_server(reader) == b""  # closed without a word
    writer.close()
    assert (await request(port, GET)).startswith(b"HTTP/1.1 200 ")


async def test_a_connection_kept_alive_is_closed_once_idle_past_the_timeout(serve):
    port = await serve(idle_timeout_seconds=0.2)
    reader, writer = await connect(port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive

    answer = await closed_by_server(reader)

    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"hello 0")
    writer.close()


async def test_headers_trickling_in_are_cut_off_after_the_header_timeout(serve):
    port = await serve(header_timeout_seconds=0.2)  # idle: a minute
    reader, writer = await connect(port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line

    assert await closed_by_server(reader) == b""
    writer.close()


async def test_a_stalled_upload_is_408_with_one_warning_and_no_traceback(serve, caplog):
    port = await serve(body_timeout_seconds=0.2)
    with caplog.at_level(logging.DEBUG):
        answer = await request(
            port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 999
        )

    assert answer.startswith(b"HTTP/1.1 408 ")
    [warning] = problems(caplog)
    assert warning.levelname == "WARNING" and warning.exc_info is None
    assert warning.getMessage() == "test: closed a stalled upload (999 of 1000 bytes in 0.2 s)"
    assert "Traceback" not in caplog.text


async def test_an_abandoned_upload_is_one_warning_and_no_traceback(serve, caplog):
    port = await serve()
    with caplog.at_level(logging.DEBUG):
        reader, writer = await connect(port)
        writer.write(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n"
        )
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"x" * 10)  # the request is being served: then the client goes
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        async with asyncio.timeout(WAIT):
            while not problems(caplog):
                await asyncio.sleep(0.01)
        assert (await request(port, GET)).startswith(b"HTTP/1.1 200 ")  # the server goes on

    [warning] = problems(caplog)
    assert warning.levelname == "WARNING" and warning.exc_info is None
    assert "abandoned its upload (10 of 1000 bytes" in warning.getMessage()
    assert "Traceback" not in caplog.text


async def test_past_the_cap_the_longest_idle_connection_makes_room_for_a_request(serve):
    port = await serve(max_connections=3)
    idle = [await connect(port) for _ in range(3)]

    answer = await request(port, GET)  # the fourth connection

    assert answer.startswith(b"HTTP/1.1 200 ")
    assert await closed_by_server(idle[0][0]) == b""  # the oldest made room
    for _, writer in idle:
        writer.close()


async def test_past_the_cap_with_every_connection_serving_a_new_one_is_refused(serve, caplog):
    port = await serve(max_connections=2)
    busy = [await connect(port) for _ in range(2)]
    for reader, writer in busy:
        writer.write(b"GET /hold HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n")
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"

    reader, writer = await connect(port)  # both are serving a request now
    refused = await closed_by_server(reader)
    writer.close()

    assert refused.startswith(b"HTTP/1.1 503 ")
    assert "test: refused a connection: all 2 are being handled" in caplog.text
    for _, writer in busy:
        writer.close()


async def test_past_the_cap_a_stalled_upload_makes_room_when_none_is_idle(serve, caplog):
    port = await serve(max_connections=2)
    uploads = [await connect(port) for _ in range(2)]
    for reader, writer in uploads:
        writer.write(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n"
        )
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"x")  # and no more

    with caplog.at_level(logging.DEBUG):
        answer = await request(port, GET)

    assert answer.startswith(b"HTTP/1.1 200 ")
    assert await closed_by_server(uploads[0][0]) == b""  # the oldest upload made room
    [note] = problems(caplog)
    assert note.getMessage() == (
        "test: at the cap of 2 connections: closed the one sending its body the longest to "
        "make room"
    )
    for _, writer in uploads:
        writer.close()


async def test_a_flood_of_one_kind_of_line_is_one_line_and_a_count(caplog):
    notes = Notes("test", logging.getLogger("tests.listen"))
    with caplog.at_level(logging.DEBUG):
        for number in range(1000):
            notes.warning("stalled uploads", "closed a stalled upload (%d)", number)
        notes.warning("refused", "refused a connection")
        notes.close()  # as the minute ends (or the listener stops)

    assert [r.getMessage() for r in caplog.records] == [
        "test: closed a stalled upload (0)",
        "test: refused a connection",
        "test: 999 more like that (stalled uploads) in the last minute",
    ]


async def test_past_the_cap_the_connection_waiting_longest_makes_room_even_an_upload(serve):
    # With the cap held mostly by stalled uploads, closing idle connections first closed the
    # newest ones, a real client's among them.
    port = await serve(max_connections=2)
    upload = await connect(port)
    upload[1].write(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n"
    )
    assert await upload[0].readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    fresh = await connect(port)

    answer = await request(port, GET)

    assert answer.startswith(b"HTTP/1.1 200 ")
    assert await closed_by_server(upload[0]) == b""  # it waited longest
    assert not fresh[0].at_eof()
    for _, writer in (upload, fresh):
        writer.close()


async def test_an_abandoned_upload_is_freed_at_once_not_by_the_garbage_collector(serve, caplog):
    # A reference cycle around the body read so far held hundreds of MiB in a flood, until
    # the collector came by.
    port = await serve()
    gc.collect()
    gc.disable()
    try:
        reader, writer = await connect(port)
        writer.write(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n"
        )
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"y" * 600)
        await writer.drain()
        writer.close()
        async with asyncio.timeout(WAIT):  # until the server has given up on it
            while not problems(caplog):
                await asyncio.sleep(0.01)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        # Bytes are not tracked by the collector: look for the frames holding them.
        held = [
            frame
            for frame in gc.garbage
            if isinstance(frame, types.FrameType)
            and any(b"y" * 600 in v for v in frame.f_locals.values() if isinstance(v, bytearray))
        ]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()

    assert held == []


async def test_stopping_closes_every_connection_even_one_that_never_spoke():
    runner, port = await listen(
        build_app(asyncio.Event()),
        "127.0.0.1",
        0,
        name="test",
        keys="test.port",
        shutdown_timeout=1,
        limits=ServerConfig(idle_timeout_seconds=LONG),
    )
    silent = await connect(port)
    spoke = await connect(port)
    spoke[1].write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await spoke[0].readuntil(b"hello 0")).startswith(b"HTTP/1.1 200 ")

    await runner.cleanup()

    assert await closed_by_server(silent[0]) == b""
    assert await closed_by_server(spoke[0]) == b""
    for _, writer in (silent, spoke):
        writer.close()
