"""The tests' own PostgreSQL launcher (tests/postgres_plugin.py), under parallel workers."""

from __future__ import annotations

import socket
from contextlib import ExitStack

import pytest

from tests import postgres_plugin

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("listening", [True, False], ids=["listening", "only-bound"])
def test_a_port_taken_before_the_server_binds_it_is_given_up_for_another(monkeypatch, listening):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        if listening:  # pytest-postgresql notices before it starts the server
            taken.listen()  # (only bound: the server itself fails to bind)
        busy = taken.getsockname()[1]
        ports = iter([busy])
        free_port = postgres_plugin._free_port
        monkeypatch.setattr(postgres_plugin, "_free_port", lambda: next(ports, None) or free_port())
        with ExitStack() as stack:
            server = postgres_plugin.start_server(stack)
            server.admin_execute("SELECT 1")
    assert server.port != busy
