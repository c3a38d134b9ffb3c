"""The cards API the chat, the daily posts and the command line build on."""

import asyncio
import io
import threading

import pytest

import bot.cards.cache as cache_module
from bot.cards import THEMES, CardCache, alt_text, card_filename, render_card
from bot.cards.themes import PALETTE
from maxims import load_corpus
from maxims.model import Maxim
from tests.helpers import run_python

CORPUS = load_corpus()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_themes_are_light_first_then_dark_and_each_has_a_palette():
    assert THEMES == ("light", "dark")
    assert tuple(PALETTE) == THEMES


def test_a_card_is_a_1200_by_630_png():
    from PIL import Image

    png = render_card(CORPUS.get(34))
    assert png.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png)) as image:
        assert (image.format, image.size) == ("PNG", (1200, 630))


@pytest.mark.parametrize("theme", ["blue", "", "Light", "dark "])
def test_an_unknown_theme_is_a_value_error_naming_the_choices(theme):
    with pytest.raises(ValueError, match="pick light or dark"):
        render_card(CORPUS.get(34), theme)


def test_alt_text_is_the_maxims_own_words():
    maxim = CORPUS.get(34)
    assert alt_text(maxim) == f"Maxim 34: {maxim.text}"
    assert alt_text(maxim).startswith("Maxim 34: If you’re seeing NaN, ")


def test_the_file_name_carries_the_number():
    assert card_filename(CORPUS.get(34)) == "maxim-34.png"


def test_importing_cards_and_running_maxim_loads_no_pillow():
    """The bot imports bot.cards at start-up; Pillow must wait for the first card drawn."""
    code = (
        "import sys, io\n"
        "import bot.cards\n"
        "from bot.cli.maxim import run\n"
        "status = run(['34'], io.StringIO(), io.StringIO())\n"
        "print(status, sorted(m for m in sys.modules if m.split('.')[0] == 'PIL'))\n"
    )
    done = run_python(code)
    assert (done.returncode, done.stdout.strip()) == (0, "0 []"), done.stderr


async def test_the_cache_draws_each_card_once_even_when_asked_at_once(monkeypatch):
    drawn = []
    lock = threading.Lock()

    def counting_render(maxim, theme="light"):
        with lock:
            drawn.append((maxim.number, theme))
        return render_card(maxim, theme)

    monkeypatch.setattr(cache_module, "render_card", counting_render)
    cache = CardCache()
    maxim = CORPUS.get(21)
    first = await asyncio.gather(*(cache.png(maxim, "dark") for _ in range(5)))
    again = await cache.png(maxim, "dark")
    light = await cache.png(maxim)
    assert drawn == [(21, "dark"), (21, "light")]
    assert len(set(first)) == 1
    assert again == first[0] == render_card(maxim, "dark")
    assert light == render_card(maxim, "light") != again
    assert len(cache) == 2


async def test_the_cache_tells_apart_maxims_that_share_a_number():
    """Adapter tests use a three-maxim corpus: a card must never show another text."""
    cache = CardCache()
    one, other = Maxim(1, "Preprocess, then train."), Maxim(1, "Train, then preprocess.")
    assert await cache.png(one) != await cache.png(other)


async def test_the_cache_rejects_an_unknown_theme_before_drawing():
    with pytest.raises(ValueError, match="pick light or dark"):
        await CardCache().png(CORPUS.get(1), "sepia")


async def test_the_cache_draws_off_the_event_loop(monkeypatch):
    threads = []

    def recording_render(maxim, theme="light"):
        threads.append(threading.get_ident())
        return render_card(maxim, theme)

    monkeypatch.setattr(cache_module, "render_card", recording_render)
    await CardCache().png(CORPUS.get(3))
    assert threads
    assert threads != [threading.get_ident()]


async def test_a_cancelled_asker_does_not_cancel_the_drawing_others_wait_for(monkeypatch):
    started, release = threading.Event(), threading.Event()

    def slow_render(maxim, theme="light"):
        started.set()
        release.wait(30)
        return render_card(maxim, theme)

    monkeypatch.setattr(cache_module, "render_card", slow_render)
    cache = CardCache()
    maxim = CORPUS.get(5)
    impatient = asyncio.create_task(cache.png(maxim))
    patient = asyncio.create_task(cache.png(maxim))
    await asyncio.to_thread(started.wait, 30)
    impatient.cancel()
    release.set()
    assert await patient == render_card(maxim)
    assert impatient.cancelled()
    assert len(cache) == 1


async def test_cards_drawn_side_by_side_are_the_cards_drawn_one_by_one():
    """CardCache draws different cards in worker threads at once; each must come out whole."""
    cache = CardCache()
    cards = [(m, t) for m in CORPUS.maxims[:12] for t in THEMES]
    together = await asyncio.gather(*(cache.png(m, t) for m, t in cards))
    assert together == [render_card(m, t) for m, t in cards]
