"""Jinja2 loads only to serve the pages: never for the ``maxim`` command or a bot without them."""

from __future__ import annotations

import pytest

from tests.helpers import run_python


@pytest.mark.child_process
def test_the_maxim_command_and_the_runner_load_no_jinja2():
    code = (
        "import sys, io\n"
        "import bot.runner, bot.bootstrap, bot.web.serving, bot.web.site\n"
        "from bot.cli.maxim import run\n"
        "status = run(['34'], io.StringIO(), io.StringIO())\n"
        "print(status, sorted(m for m in sys.modules if m.split('.')[0] == 'jinja2'"
        " or m in ('bot.web.pages', 'bot.web.routes')))\n"
    )
    done = run_python(code)
    assert (done.returncode, done.stdout.strip()) == (0, "0 []"), done.stderr
