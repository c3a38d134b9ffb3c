"""Every page over real HTTP: what it says, its links, and the tags that make a link unfurl."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.cards import alt_text
from bot.config import DiscordConfig
from bot.platforms.discord.cli import server_invite_url
from maxims import load_corpus
from tests.web.conftest import DISCORD_CLIENT_ID, running_pages
from tests.web.reading import ask, page

CORPUS = load_corpus()
PAGES = ("/", "/maxims", "/maxims/34", "/privacy", "/support")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_english_html_with_a_title_a_description_and_links_to_all_pages(
    web_base_url, path
):
    shown = page(web_base_url, path)
    assert shown.lang() == "en"
    assert shown.title.strip()
    assert shown.meta()["description"].strip()
    assert {"/", "/maxims", "/privacy", "/support"} <= set(shown.links())
    assert shown.all("link", rel="stylesheet") == [
        {"rel": "stylesheet", "href": "/static/site.css"}
    ]
    assert shown.all("link", rel="canonical") == [{"rel": "canonical", "href": web_base_url + path}]


def test_the_landing_page_says_what_the_bot_does_and_shows_todays_maxim(web_base_url):
    shown = page(web_base_url, "/")
    today = CORPUS.for_day(dt.datetime.now(dt.UTC).date())  # /maxim today, no channel
    assert len(shown.all("li")) >= 3
    assert "/maxim" in shown.text and "NaN" in shown.text and "maxim of the day" in shown.text
    [card] = shown.all("img", class_="card")
    assert card["src"] == f"/cards/{today.number}.png"
    assert card["alt"] == alt_text(today)
    assert (card["width"], card["height"]) == ("1200", "630")
    assert f"/maxims/{today.number}" in shown.links()
    assert today.text in shown.text


def test_the_landing_page_turns_with_the_utc_date():
    days = [dt.date(2026, 12, 5), dt.date(2026, 12, 6)]
    numbers = {CORPUS.for_day(day).number for day in days}
    assert len(numbers) == 2
    for day in days:
        with running_pages(today=lambda day=day: day) as url:
            [card] = page(url, "/").all("img", class_="card")
            assert card["src"] == f"/cards/{CORPUS.for_day(day).number}.png"


def test_both_buttons_show_when_slack_oauth_and_a_discord_client_id_are_set(web_base_url):
    shown = page(web_base_url, "/")
    buttons = {attrs["href"]: attrs for attrs in shown.all("a", class_="button")}
    assert "/slack/install" in buttons
    [discord] = [href for href in buttons if href != "/slack/install"]
    # The first line of `maxim-bot discord invite`: exactly the permissions the bot uses.
    assert discord == server_invite_url(DiscordConfig(), DISCORD_CLIENT_ID)
    assert discord.startswith(f"https://discord.com/oauth2/authorize?client_id={DISCORD_CLIENT_ID}")
    assert "Add to Slack" in shown.text and "Add to Discord" in shown.text


@pytest.mark.parametrize(
    ("options", "shown"),
    [
        ({"slack_oauth": False, "discord_client_id": None}, set()),
        ({"slack_oauth": True, "discord_client_id": None}, {"Add to Slack"}),
        ({"slack_oauth": False}, {"Add to Discord"}),
    ],
)
def test_a_button_shows_only_when_its_platform_is_configured(options, shown):
    with running_pages(**options) as url:
        text = page(url, "/").text
    assert {b for b in ("Add to Slack", "Add to Discord") if b in text} == shown


@pytest.mark.parametrize(
    ("redirect_uri", "install"),
    [
        (
            "https://slack.example.org/slack/oauth_redirect",
            "https://slack.example.org/slack/install",
        ),
        ("https://example.org/bot/slack/oauth_redirect", "https://example.org/bot/slack/install"),
        ("https://example.org/oauth/done", "https://example.org/slack/install"),
    ],
)
def test_add_to_slack_opens_the_install_page_beside_the_redirect_uri(redirect_uri, install):
    with running_pages(slack={"redirect_uri": redirect_uri}) as url:
        hrefs = [attrs["href"] for attrs in page(url, "/").all("a", class_="button")]
    assert hrefs[0] == install


def test_the_list_has_all_seventy_numbered_each_a_link(web_base_url):
    shown = page(web_base_url, "/maxims")
    links = [href for href in shown.links() if href.startswith("/maxims/")]
    assert links == [f"/maxims/{n}" for n in range(1, 71)]
    for maxim in CORPUS.maxims:
        assert f"{maxim.number}. {maxim.text}" in shown.text


def test_a_maxims_page_carries_the_tags_slack_and_discord_unfurl(web_base_url):
    shown = page(web_base_url, "/maxims/34")
    maxim = CORPUS.get(34)
    url = f"{web_base_url}/maxims/34"
    tags = shown.meta()
    assert tags["og:title"] == "Maxim 34"
    assert tags["og:description"] == tags["og:image:alt"] == maxim.text
    assert tags["og:image"] == f"{web_base_url}/cards/34.png"
    assert (tags["og:image:width"], tags["og:image:height"]) == ("1200", "630")
    assert tags["og:url"] == url
    assert tags["og:type"] == "article"
    assert tags["twitter:card"] == "summary_large_image"
    assert tags["description"] == maxim.text
    assert shown.title.startswith("Maxim 34")
    assert maxim.text in shown.text


def test_a_maxims_page_shows_its_card_and_its_link_to_copy_without_script(web_base_url):
    shown = page(web_base_url, "/maxims/34")
    [card] = shown.all("img", class_="card")
    assert (card["src"], card["alt"]) == ("/cards/34.png", alt_text(CORPUS.get(34)))
    assert (card["width"], card["height"]) == ("1200", "630")
    assert shown.all("source") == [
        {"srcset": "/cards/34.png?theme=dark", "media": "(prefers-color-scheme: dark)"}
    ]
    [field] = shown.all("input", id="link")
    assert field["value"] == f"{web_base_url}/maxims/34"
    assert "readonly" in field
    assert shown.all("label", for_="link")
    assert not shown.all("script")


@pytest.mark.parametrize(
    ("number", "previous", "following"), [(34, 33, 35), (1, 70, 2), (70, 69, 1)]
)
def test_previous_and_next_wrap_around(web_base_url, number, previous, following):
    shown = page(web_base_url, f"/maxims/{number}")
    assert shown.all("a", rel="prev")[0]["href"] == f"/maxims/{previous}"
    assert shown.all("a", rel="next")[0]["href"] == f"/maxims/{following}"


def test_privacy_says_what_is_kept_how_long_what_never_and_how_to_delete(web_base_url):
    text = page(web_base_url, "/privacy").text
    assert "after 400 days" in text  # storage.keep_days
    assert "never" in text and "user id" in text.lower()
    assert "remove the app from your workspace" in text
    assert "installation with its token and every daily post" in text


def test_privacy_follows_storage_keep_days():
    with running_pages(keep_days=30) as url:
        assert "after 30 days" in page(url, "/privacy").text


def test_support_without_an_address_says_whom_to_ask(web_base_url):
    text = page(web_base_url, "/support").text
    assert "Ask whoever runs this copy of the bot" in text
    assert "/maxim help" in text


def test_support_shows_the_configured_address_and_contact_escaped():
    with running_pages(
        support_url="https://example.org/help?a=1&b=2", contact="<script>alert(1)</script>"
    ) as url:
        reply = ask(url, "/support")
    assert "<script>" not in reply.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in reply.text
    assert 'href="https://example.org/help?a=1&amp;b=2"' in reply.text
