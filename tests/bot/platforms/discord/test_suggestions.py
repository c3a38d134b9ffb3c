"""Autocomplete of `/maxim query` and `/maxim-daily zone`, typed through the loopback Discord."""

from __future__ import annotations

from typing import Any

from maxims import load_corpus
from maxims.suggest import suggest_zones
from tests.bot.platforms.discord.helpers import make_service
from tests.fakes.discord.api import FakeDiscord

CORPUS = load_corpus()
OVERFITTING = {m.number for m in CORPUS if "overfitting" in m.tags}  # 4, 17, 23, 29, 31, 48, 50


async def autocomplete(fake: FakeDiscord, command: str, option: str, text: str) -> list[Any]:
    interaction_id = await fake.send_autocomplete(command, {option: text}, focused=option)
    callback = await fake.wait_for_callback(interaction_id)
    assert callback.type == 8 and callback.data is not None
    return list(callback.data["choices"])


async def test_autocomplete_for_nan_offers_the_nan_maxims_first(fake, bot):
    choices = await autocomplete(fake, "maxim", "query", "nan")
    assert {c["value"] for c in choices} == {"34", "40", "55"}  # no keyword starts with "nan"
    assert choices[0]["name"].startswith(f"{choices[0]['value']} · ")
    first_34 = next(c for c in choices if c["value"] == "34")
    assert first_34["name"] == "34 · If you’re seeing NaN, you need a smaller learning rate."
    assert all(len(c["name"]) <= 100 for c in choices) and len(choices) <= 25


async def test_autocomplete_forgives_the_typo_in_overfiting(fake, bot):
    typo = await autocomplete(fake, "maxim", "query", "overfiting")
    spelled = await autocomplete(fake, "maxim", "query", "overfitting")
    assert typo == spelled  # the same suggestions, in the same order
    assert {int(c["value"]) for c in typo} == OVERFITTING
    assert typo[0] == {"name": f"48 · {CORPUS.get(48).text}", "value": "48"}


async def test_autocomplete_offers_keywords_numbers_and_caps_at_25(fake, bot):
    empty = await autocomplete(fake, "maxim", "query", "")
    assert [c["value"] for c in empty[:6]] == ["random", "today", "card", "list", "stats", "help"]
    assert len(empty) == 25
    assert (await autocomplete(fake, "maxim", "query", "to"))[0]["value"] == "today"
    numbers = [c["value"] for c in await autocomplete(fake, "maxim", "query", "#3")]
    assert numbers[0] == "3" and set(numbers) == {"3", *(str(n) for n in range(30, 40))}
    assert await autocomplete(fake, "maxim", "query", "71") == []
    cards = await autocomplete(fake, "maxim", "query", "card 34")
    assert cards[0] == {"name": f"card 34 · {CORPUS.get(34).text}", "value": "card 34"}


def test_long_maxims_are_cut_to_100_characters_in_choices(storage):
    service = make_service(storage)
    choices = dict((value, name) for name, value in service.suggest("the"))
    assert all(len(name) <= 100 for name in choices.values())
    assert choices["19"] == (
        "19 · The field advances when you turn competitors into collaborators, but that’s not "
        "the same as…"
    )
    assert len(choices["19"]) == 97  # cut at a word boundary, within Discord’s 100


async def test_zone_autocomplete_knows_iana_names(fake, bot):
    berlin = await autocomplete(fake, "maxim-daily", "zone", "berl")
    assert berlin[0] == {"name": "Europe/Berlin", "value": "Europe/Berlin"}
    assert suggest_zones("new york")[0] == ("America/New_York", "America/New_York")
    assert len(suggest_zones("a")) == 25
    assert suggest_zones("")[0] == ("UTC", "UTC")
