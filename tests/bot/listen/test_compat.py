"""Tripwires for `bot.listen.compat`: aiohttp still has what the workarounds rely on."""

from __future__ import annotations

import inspect
import logging

from aiohttp import web, web_protocol, web_server
from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError

from bot.listen.compat import ClientFaultsInOneLine, protocol_logger


def test_aiohttp_still_lets_a_request_class_hook_into_every_response():
    # The app's request factory takes the class to build, the low-level server's factory is a
    # public slot, and the request's prepare hook is still called with each response.
    assert "_cls" in inspect.signature(web.Application._make_request).parameters
    assert "request_factory" in inspect.signature(web_server.Server.__init__).parameters
    assert inspect.iscoroutinefunction(web.Request._prepare_hook)
    assert "request._prepare_hook(self)" in inspect.getsource(web.StreamResponse._start)


def test_aiohttp_still_raises_http_processing_errors_and_takes_a_protocol_logger():
    assert issubclass(BadHttpMessage, HttpProcessingError)
    assert "logger" in inspect.signature(web_protocol.RequestHandler.__init__).parameters


def test_protocol_logger_turns_a_client_fault_into_one_warning_line(caplog):
    logger = protocol_logger(logging.getLogger("tests.listen.protocol"), "Slack HTTP")
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        try:
            raise BadHttpMessage("Invalid character in Content-Length")
        except BadHttpMessage:
            logger.exception("Error handling request from %s", "127.0.0.1")
        try:
            raise RuntimeError("a bug of ours")
        except RuntimeError:
            logger.exception("Error handling request from %s", "127.0.0.1")

    client, ours = caplog.records
    assert (client.levelname, client.exc_info) == ("WARNING", None)
    assert client.getMessage() == "Slack HTTP: refused a malformed HTTP request (BadHttpMessage)"
    assert (ours.levelname, ours.exc_info[0]) == ("ERROR", RuntimeError)  # bugs keep tracebacks
    again = protocol_logger(logger, "Slack HTTP")
    assert [type(f) for f in again.filters] == [ClientFaultsInOneLine]  # added once
