"""`maxim card`: the real command in a process of its own, writing real PNG files."""

import hashlib
import io
import os
import subprocess
import sys

import pytest
from PIL import Image

from bot.cards import render_card
from maxims import load_corpus
from tests.bot.cli.test_maxim import run_maxim
from tests.helpers import python_env

CORPUS = load_corpus()
PNG = b"\x89PNG\r\n\x1a\n"


def maxim_card(*args, cwd):
    """`python -m bot.cli.maxim card ARGS` in `cwd`; the finished process (bytes output)."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.maxim", "card", *args],
        capture_output=True,
        env=python_env(),
        cwd=cwd,
        timeout=60,
    )


def number_on(png):
    """Which maxim a card shows, read back by comparing with each light card's bytes."""
    digest = hashlib.sha256(png).digest()
    matches = [m.number for m in CORPUS.maxims if hashlib.sha256(render_card(m)).digest() == digest]
    assert len(matches) == 1
    return matches[0]


def test_writes_the_named_file_in_the_chosen_theme(tmp_path):
    done = maxim_card("34", "-o", "card.png", "--theme", "dark", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout.decode().strip() == "card.png"
    assert (tmp_path / "card.png").read_bytes() == render_card(CORPUS.get(34), "dark")


def test_without_o_writes_maxim_n_png_here_and_prints_the_path(tmp_path):
    done = maxim_card("#7", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout.decode().strip() == "maxim-7.png"
    assert (tmp_path / "maxim-7.png").read_bytes() == render_card(CORPUS.get(7), "light")
    assert os.listdir(tmp_path) == ["maxim-7.png"]


def test_dash_o_dash_writes_the_png_alone_to_standard_output(tmp_path):
    done = maxim_card("-o", "-", "21", "--theme=dark", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout == render_card(CORPUS.get(21), "dark")
    assert os.listdir(tmp_path) == []
    with Image.open(io.BytesIO(done.stdout)) as image:
        assert image.size == (1200, 630)


def test_a_random_card_and_todays_card_are_cards_of_maxims(tmp_path):
    for args in ((), ("random",), ("today",)):
        done = maxim_card(*args, "-o", "-", cwd=tmp_path)
        assert (done.returncode, done.stderr) == (0, b""), args
        assert 1 <= number_on(done.stdout) <= 70


def test_todays_card_shows_todays_maxim(tmp_path):
    today = run_maxim("today")
    number = int(today.stdout.rsplit("#", 1)[1])
    done = maxim_card("today", "-o", "-", cwd=tmp_path)
    if today.stdout != run_maxim("today").stdout:  # midnight passed between the two
        pytest.skip("the day changed during the test")
    assert number_on(done.stdout) == number


def test_a_search_draws_its_best_match(tmp_path):
    best = CORPUS.search(("nan",))[0]
    done = maxim_card("search", "nan", "-o", "-", cwd=tmp_path)
    assert done.stdout == render_card(best)


@pytest.mark.parametrize(
    ("args", "text_args"),
    [
        (("71",), ("71",)),
        (("1e9",), ("1e9",)),
        (("qqqqzz",), ("qqqqzz",)),
        (("daily",), ("daily",)),
    ],
)
def test_bad_queries_fail_as_their_text_forms_do(tmp_path, args, text_args):
    card = maxim_card(*args, cwd=tmp_path)
    text = run_maxim(*text_args)
    assert (card.returncode, card.stderr.decode()) == (text.returncode, text.stderr)
    assert card.returncode in (1, 2)
    assert card.stdout == b""
    assert os.listdir(tmp_path) == []


def test_maxim_71_is_the_friendly_line(tmp_path):
    done = maxim_card("71", cwd=tmp_path)
    assert done.stderr.decode() == (
        "maxim: There’s no maxim 71: pick 1–70, or try maxim search <word>.\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("34", "--theme", "blue"), "maxim: There’s no card theme “blue”: pick light or dark.\n"),
        (("34", "--theme"), "maxim: --theme needs a theme (light or dark); see maxim --help\n"),
        (("34", "-o"), "maxim: -o needs a file name; see maxim --help\n"),
        (("34", "--frobnicate"), "maxim: unknown option '--frobnicate'; see maxim --help\n"),
        (("list",), "maxim: a card shows one maxim: try maxim card 42\n"),
    ],
)
def test_bad_usage_exits_2_with_one_line(tmp_path, args, message):
    done = maxim_card(*args, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr.decode()) == (2, b"", message)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("where", ["missing/card.png", ".", "locked/card.png"])
def test_an_unwritable_path_is_one_line_and_exit_1(tmp_path, where):
    (tmp_path / "locked").mkdir(mode=0o500)
    if where.startswith("locked") and os.access(tmp_path / "locked", os.W_OK):
        pytest.skip("running as root: a read-only folder is still writable")
    done = maxim_card("34", "-o", where, cwd=tmp_path)
    err = done.stderr.decode()
    assert (done.returncode, done.stdout) == (1, b"")
    assert err.startswith(f"maxim: can't write the card to {where}: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_an_unwritable_file_as_root_too(tmp_path):
    """Root may write anywhere on disk, but not into a path below a file."""
    (tmp_path / "file").write_text("x")
    done = maxim_card("34", "-o", "file/card.png", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, b"")
    assert done.stderr.decode() == "maxim: can't write the card to file/card.png: Not a directory\n"


def test_help_describes_the_card_form():
    done = run_maxim("card", "--help")
    assert done.returncode == 0
    assert "maxim card [QUERY] [-o FILE] [--theme light|dark]" in done.stdout
    assert done.stdout == run_maxim("--help").stdout


def test_dash_o_dash_refuses_a_terminal(tmp_path):
    """A PNG printed on a terminal garbles it; curl refuses the same way."""
    import pty

    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli.maxim", "card", "34", "-o", "-"],
            stdout=terminal,
            stderr=subprocess.PIPE,
            env=python_env(),
            cwd=tmp_path,
            timeout=60,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 2
    assert done.stderr.decode().startswith("maxim: not writing a PNG to a terminal: ")
