"""The process's open files: as many as the system allows, and running out said once a minute.

Every connection, database handle and outgoing call holds a file descriptor. systemd starts a
service with a soft limit of 1,024 (its hard limit is far higher), and a flood of idle
connections once used them all: outgoing calls failed with "Too many open files", and asyncio
logged a traceback for every connection it could not accept (a 154 MB log in 30 s).
"""

from __future__ import annotations

import asyncio
import errno
import logging
from typing import Any

log = logging.getLogger(__name__)

REPORT_EVERY = 60.0  # seconds between two lines about connections that could not be accepted
# What asyncio's accept loop says when the process (or system) is out of descriptors or memory.
_ACCEPT_FAILED = "socket.accept() out of system resource"
_OUT_OF = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def raise_open_file_limit() -> tuple[int, int]:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard one; (before, after).

    Any process may do this: the hard limit is the ceiling set for it. Nothing is called when
    they are already equal (the systemd unit's ``LimitNOFILE`` sets both), and a refusal (a
    seccomp filter, an odd platform) leaves the limit as it was, with one WARNING line.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft >= hard:
        return soft, soft
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (OSError, ValueError) as err:
        log.warning("could not raise the open-file limit from %d to %d (%s)", soft, target, err)
        return soft, soft
    log.debug("open-file limit raised from %d to %d", soft, target)
    return soft, target


class AcceptErrors:
    """The event loop's exception handler, counting connections it could not accept.

    Those (out of descriptors or memory) are reported in one WARNING line a minute: asyncio
    reports each with a traceback, and retries a second later, so in a flood the log grew
    faster than anyone could read it. Everything else goes on to the handler that was there
    before (or asyncio's default).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.before = loop.get_exception_handler()
        self.count = 0
        self.last_error = ""
        self.reported_at: float | None = None
        self._report: asyncio.TimerHandle | None = None

    @classmethod
    def install(cls, loop: asyncio.AbstractEventLoop) -> AcceptErrors:
        """Handle `loop`'s exceptions (once: a second listener shares the first's)."""
        handler = loop.get_exception_handler()
        owner = getattr(handler, "__self__", None)
        if isinstance(owner, cls):
            return owner
        errors = cls(loop)
        loop.set_exception_handler(errors.handle)
        return errors

    def handle(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Count a connection that could not be accepted; pass anything else on."""
        error = context.get("exception")
        if context.get("message") != _ACCEPT_FAILED and not (
            isinstance(error, OSError) and error.errno in _OUT_OF
        ):
            if self.before is not None:
                self.before(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        self.count += 1
        self.last_error = getattr(error, "strerror", None) or type(error).__name__
        now = loop.time()
        if self.reported_at is None or now - self.reported_at >= REPORT_EVERY:
            self.report()
        elif self._report is None:
            self._report = loop.call_at(self.reported_at + REPORT_EVERY, self.report)

    def report(self) -> None:
        """One line for what was counted since the last one."""
        self._report = None
        if self.count:
            log.warning(
                "could not accept %d connection(s) in the last minute (%s): raise the "
                "open-file limit (LimitNOFILE) or lower server.max_connections",
                self.count,
                self.last_error,
            )
        self.count, self.reported_at = 0, self.loop.time()
