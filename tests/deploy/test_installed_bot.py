"""The bot as the image runs it: built as a wheel, installed in a fresh venv, started with the
Dockerfile's own `CMD` and `ENV` plus the compose file's environment, against the loopback
Slack emulator.

The fresh venv has only the wheel: no checkout on `sys.path`, no editable install, and a
working directory outside the repository, so a file missing from the wheel (the corpus TSV,
a migration) fails here as it would in the image. Its dependencies come from the test venv
through a `.pth` line: the image's `pip install` fetches them from PyPI, which a test may not.
(`python -m venv --system-site-packages` would not do: from inside a venv it links the base
interpreter's site-packages, not the venv's.) A `.pth` line adds the directory to `sys.path`
without running the `.pth` files in it, so the checkout's editable install stays out.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import site
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.bot.bot_process import BotProcess, starts_bot_process
from tests.deploy.files import (
    bot_service,
    compose_environment,
    compose_mounts,
    final_stage,
    image_env,
    only,
)
from tests.fakes.slack.api import FakeSlack
from tests.helpers import ROOT

# The two tests share the module's wheel and venv: under xdist's loadgroup they run on one
# worker, which builds them once.
pytestmark = [starts_bot_process, pytest.mark.xdist_group("installed_wheel")]

BOT_TOKEN = "xoxb-deploy-test"
SECRET = "deploy-test-signing-secret"
IMAGE_VENV = "/opt/maxim-bot"
"""Where the Dockerfile installs the bot; the tests' venv stands in for it."""


def pip(python: str | Path, *args: str | Path) -> None:
    done = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel built from this checkout, as the Dockerfile builds it."""
    work = tmp_path_factory.mktemp("wheel")
    pip(sys.executable, "wheel", "--no-deps", "--wheel-dir", work / "dist", ROOT)
    [wheel] = (work / "dist").glob("maxim_bot-*.whl")
    venv = work / "venv"
    # Without pip (ensurepip alone costs seconds): the tests' pip installs into it, and the
    # bot never needs a pip of its own.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    [venv_site] = venv.glob("lib/python*/site-packages")
    (venv_site / "zz_test_dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", encoding="utf-8"
    )
    pip(
        sys.executable,
        "--python",
        venv / "bin" / "python",
        "install",
        "--no-deps",
        "--no-index",
        wheel,
    )
    return venv


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def container_env(venv: Path, config: Path) -> dict[str, str]:
    """The environment of the bot's container, with the image's paths mapped to this test's.

    The Dockerfile's `ENV` over a plain base, then compose's `environment`; the image's venv
    becomes `venv`, and the path compose mounts the config at becomes `config`.
    """
    base = {"PATH": os.environ["PATH"], "HOME": str(config.parent), "LANG": "C.UTF-8"}
    env = image_env(final_stage(), base) | compose_environment(bot_service())
    env = {key: value.replace(IMAGE_VENV, str(venv)) for key, value in env.items()}
    mounted = {
        target: source
        for target, source in compose_mounts(bot_service()).items()
        if source == "./config.toml"
    }
    assert env["MAXIM_BOT_CONFIG"] in mounted, "the config is not mounted where the image reads"
    env["MAXIM_BOT_CONFIG"] = str(config)
    return env


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(bot_token=BOT_TOKEN) as server:
        yield server


async def get(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status


async def run_health_check(env: dict[str, str], port: int) -> int:
    """The Dockerfile's HEALTHCHECK command, aimed at `port` instead of the server's 8080."""
    command = only(final_stage(), "HEALTHCHECK").exec_form()
    command[-1] = command[-1].replace("127.0.0.1:8080/", f"127.0.0.1:{port}/")
    process = await asyncio.create_subprocess_exec(*command, env=env)
    return await asyncio.wait_for(process.wait(), 30)


async def test_the_installed_wheel_runs_the_image_command_and_stops_on_sigterm(
    installed, fake, tmp_path
):
    port, server_port, web_port = free_port(), free_port(), free_port()
    config = tmp_path / "etc" / "config.toml"
    config.parent.mkdir()
    config.write_text(
        f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path / "bot.db"}"\n'
        f'[slack]\nmode = "http"\nhttp_port = {port}\n'
        f"[server]\nenabled = true\nport = {server_port}\n"
        f'[web]\nenabled = true\nport = {web_port}\npublic_url = "http://127.0.0.1:{web_port}"\n',
        encoding="utf-8",
    )
    env = container_env(installed, config) | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.url,
    }
    command = only(final_stage(), "CMD").exec_form()
    assert shutil.which(command[0], path=env["PATH"]) == str(installed / "bin" / command[0])
    workdir = tmp_path / "state"  # the image's WORKDIR: anywhere but the checkout
    workdir.mkdir()

    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=workdir,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    bot = BotProcess(process)
    try:
        await bot.wait_for_line("maxim-bot running on slack")
        health = await get(f"http://127.0.0.1:{port}/healthz")  # the Slack port's own
        probes = [
            await get(f"http://127.0.0.1:{server_port}{path}")
            for path in ("/healthz", "/readyz", "/metrics")
        ]
        health_check = await run_health_check(env, server_port)
        # The pages' templates, stylesheet and fonts come in the wheel too.
        pages = [
            await get(f"http://127.0.0.1:{web_port}{path}")
            for path in ("/maxims/34", "/static/site.css", "/static/fonts/Inter-Bold.otf")
        ]
        process.send_signal(signal.SIGTERM)
        code, _ = await bot.end()
    finally:
        bot.kill()

    assert health == 200, bot.text
    assert probes == [200, 200, 200], bot.text
    assert health_check == 0, bot.text
    assert pages == [200, 200, 200], bot.text
    assert code == 0, bot.text
    assert "Traceback" not in bot.text
    assert "maxim-bot stopped" in bot.text
    assert await run_health_check(env, server_port) != 0  # and it notices a stopped bot


def test_the_venv_runs_the_wheel_not_the_checkout(installed, tmp_path):
    done = subprocess.run(
        [installed / "bin" / "python", "-c", "import bot, maxims; print(bot.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
        timeout=60,
        check=True,
    )
    assert Path(done.stdout.strip()).is_relative_to(installed), done.stdout


def test_the_installed_wheel_carries_the_card_fonts_and_draws_a_card(installed, tmp_path):
    """The slim image has no system fonts: the card's fonts and licence come in the wheel."""
    code = (
        "from pathlib import Path\n"
        "import bot.cards.draw as draw\n"
        "from bot.cards import render_card\n"
        "from maxims import load_corpus\n"
        "fonts = sorted(p.name for p in draw.FONTS.iterdir())\n"
        "Path('card.png').write_bytes(render_card(load_corpus().get(8), 'dark'))\n"
        "print(draw.FONTS, *fonts)\n"
    )
    done = subprocess.run(
        [installed / "bin" / "python", "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    where, *fonts = done.stdout.split()
    assert Path(where).is_relative_to(installed)
    assert fonts == ["Inter-Bold.otf", "Inter-Regular.otf", "LICENSE.txt"]
    assert (tmp_path / "card.png").read_bytes().startswith(b"\x89PNG")
