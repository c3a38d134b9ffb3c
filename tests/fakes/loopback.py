"""An aiohttp app served on 127.0.0.1 at a free port: the plumbing every loopback fake shares.

The Slack and Discord emulators and the daily workers' fake platform each serve an aiohttp app
the same way: on the loopback interface only, on a port the OS picks when binding (port 0, so
parallel test workers never race for one), and stopped by whoever started it. aiohttp's own
`test_utils.TestServer` does much the same, but cancels a handler whose client went away,
which a call the emulators hold on purpose must survive.
"""

from __future__ import annotations

from aiohttp import web


class LoopbackServer:
    """Serves `app` on 127.0.0.1; `start` returns the port, `stop` is idempotent."""

    def __init__(self, app: web.Application, *, shutdown_timeout: float = 60.0) -> None:
        """`shutdown_timeout`: how long `stop` lets handlers still running finish."""
        self.app = app
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    async def start(self) -> int:
        """Bind a free port on 127.0.0.1, serve the app, and return the port."""
        if self._runner is not None:
            raise RuntimeError("the server is already started")
        runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=self._shutdown_timeout,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        return self._port

    async def stop(self) -> None:
        """Stop listening, run the app's `on_shutdown`, then let handlers finish."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def running(self) -> bool:
        """Whether the server is started and not stopped."""
        return self._runner is not None

    @property
    def port(self) -> int:
        """The port it listens on (127.0.0.1)."""
        if self._port is None:
            raise RuntimeError("the server was never started")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"
