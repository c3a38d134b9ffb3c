"""The query grammar and `answer`: every form, every bad input, and no string that breaks them."""

import datetime as dt
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxims import ListReply, MaximReply, TextReply, answer, load_corpus, parse_query, render_help
from maxims.query import (
    ByNumber,
    Card,
    DailyOff,
    DailySet,
    DailyShow,
    Help,
    Invalid,
    ListAll,
    NotANumber,
    RandomMaxim,
    Search,
    Today,
    parse_clock,
    safe_echo,
)

TODAY = dt.date(2026, 11, 28)


def ask(text, **kwargs):
    return answer(text, corpus=load_corpus(), today=TODAY, rng=random.Random(7), **kwargs)


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("", RandomMaxim()),
        ("   ", RandomMaxim()),
        ("random", RandomMaxim()),
        ("42", ByNumber(42)),
        ("#42", ByNumber(42)),
        (" 7 ", ByNumber(7)),
        ("0", ByNumber(0)),
        ("-3", ByNumber(-3)),
        ("71", ByNumber(71)),
        ("1e9", NotANumber()),
        ("4.2", NotANumber()),
        ("today", Today()),
        ("TODAY", Today()),
        ("list", ListAll()),
        ("help", Help()),
        ("--help", Help()),
        ("search adam", Search(("adam",))),
        ("Search Over-Fitting", Search(("over", "fitting"))),
        ("dropout layers", Search(("dropout", "layers"))),
        ("you’re", Search(("you're",))),
        ("daily", DailyShow()),
        ("daily off", DailyOff()),
        ("daily 09:00", DailySet(9, 0, None)),
        ("daily 9:05 Europe/Berlin", DailySet(9, 5, "Europe/Berlin")),
        ("daily 23:59 America/New_York", DailySet(23, 59, "America/New_York")),
        ("daily 09:00 card", DailySet(9, 0, None, "card")),
        ("daily 09:00 Europe/Berlin card", DailySet(9, 0, "Europe/Berlin", "card")),
        ("daily 9:05 Europe/Berlin Text", DailySet(9, 5, "Europe/Berlin", "text")),
        ("daily 09:00 CARD", DailySet(9, 0, None, "card")),
        ("daily 09:00 mon-fri thread", DailySet(9, 0, None, None, 0b0011111, True)),
        (
            "daily 09:00 thread Europe/Berlin card",
            DailySet(9, 0, "Europe/Berlin", "card", None, True),
        ),
        ("daily 09:00 Thread", DailySet(9, 0, None, None, None, True)),
        ("daily 09:00 no-thread", DailySet(9, 0, None, None, None, False)),
        ("card", Card(RandomMaxim())),
        ("card random", Card(RandomMaxim())),
        ("card 34", Card(ByNumber(34))),
        ("Card #34", Card(ByNumber(34))),
        ("card today", Card(Today())),
        ("card search adam", Card(Search(("adam",)))),
        ("card dropout layers", Card(Search(("dropout", "layers")))),
        ("card card 34", Card(ByNumber(34))),
        ("card help", Help()),
        ("card 4.2", NotANumber()),
        ("cards 34", Search(("cards", "34"))),
    ],
)
def test_parse_query_reads_every_form(text, query):
    assert parse_query(text) == query


@pytest.mark.parametrize(
    "text",
    ["daily 24:00", "daily 9am", "daily 25:61", "daily 09:60", "daily 0900", "daily ９:００"],
)
def test_bad_daily_times_say_the_accepted_form(text):
    query = parse_query(text)
    assert isinstance(query, Invalid)
    assert "HH:MM" in query.message


@pytest.mark.parametrize(
    ("clock", "parsed"),
    [
        ("09:00", (9, 0)),
        ("0:00", (0, 0)),
        ("23:59", (23, 59)),
        ("24:00", None),
        ("9", None),
        ("09:5", None),
        ("ab:cd", None),
        ("-1:00", None),
    ],
)
def test_parse_clock(clock, parsed):
    assert parse_clock(clock) == parsed


def test_number_answers_that_maxim():
    reply = ask("34")
    assert reply == MaximReply((load_corpus().get(34),), "number")


def test_today_is_the_channels_maxim_of_the_day():
    reply = ask("today", channel_key="slack:C1")
    assert reply.maxims == (load_corpus().for_day(TODAY, "slack:C1"),)


def test_random_uses_the_given_rng():
    first = ask("").maxims[0]
    again = ask("").maxims[0]
    assert first == again  # same seed, same maxim: the core never reads global randomness


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0", "There’s no maxim 0: pick 1–70"),
        ("71", "There’s no maxim 71: pick 1–70"),
        ("-3", "There’s no maxim -3"),
        ("99999999999999999999999", "There’s no maxim that high"),
        ("1e9", "whole numbers from 1 to 70"),
        ("#", "needs a number"),
        ("#abc", "needs a whole number"),
        ("x" * 10_000, "under 200 characters"),
        ("loss\x00nan", "control characters"),
        ("\x1b[31m", "control characters"),
        ("!!! ???", "couldn’t find any words"),
        ("search", "Search for what?"),
    ],
)
def test_bad_input_gets_one_friendly_line(text, fragment):
    reply = ask(text)
    assert isinstance(reply, TextReply)
    assert reply.status == "error"
    assert fragment in reply.text
    assert "\n" not in reply.text


def test_nothing_found_suggests_the_closest_word():
    reply = ask("search overfitign zzzz")
    assert isinstance(reply, MaximReply)  # one word matched, with a typo
    reply = ask("search transfomrers")
    assert isinstance(reply, MaximReply)
    reply = ask("search qqqqq")
    assert reply.status == "not_found"
    reply = ask("search dropuot-layerz-xx")
    assert isinstance(reply, MaximReply)


def test_not_found_offers_a_close_match():
    reply = ask("search hyperparamters-zz")
    assert isinstance(reply, MaximReply)
    reply = ask("search ethereumm")
    assert isinstance(reply, MaximReply)
    reply = ask("search xqzvw")
    assert reply == TextReply(
        "No maxim matches “xqzvw”. Try `/maxim list` to see them all.", "not_found"
    )


@pytest.mark.parametrize(
    "text",
    [
        "@everyone",
        "@here",
        "<!channel>",
        "<!everyone>",
        "<@U123>",
        "<#C42>",
        "<@&987>",
        "search @everyone <!here>",
        "daily 9am <!channel>",
        "daily 09:00 <@U1>",
    ],
)
def test_user_text_is_never_echoed_with_a_live_mention(text):
    reply = ask(text)
    shown = reply.text if isinstance(reply, TextReply) else ""
    for dangerous in ("@", "<!", "<#", "<@"):
        assert dangerous not in shown


def test_list_has_every_maxim():
    reply = ask("list")
    assert isinstance(reply, ListReply)
    assert [m.number for m in reply.maxims] == list(range(1, 71))


def test_help_uses_the_given_command_name():
    assert "maxim today" in ask("help", command="maxim").text
    assert "/maxim search WORDS" in ask("help").text


def test_safe_echo_drops_mention_syntax_and_caps_length():
    assert safe_echo("<@U123> hi @everyone") == "U123 hi everyone"
    assert len(safe_echo("a" * 100)) == 40


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_parser_and_answer_never_raise(text):
    query = parse_query(text)
    reply = ask(query)
    assert isinstance(reply, MaximReply | ListReply | TextReply)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=50).map(lambda s: "#" + s))
def test_hash_forms_never_raise(text):
    assert ask(text) is not None


# ------------------------------------------------------------------------------ edges


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("daily\t09:00", DailySet(9, 0, None)),  # tabs and line breaks are spacing
        ("search\rdropout", Search(("dropout",))),
        ("42\n", ByNumber(42)),
        ("-h", Help()),
        ("?", Help()),
        ("search dropout layers", Search(("dropout", "layers"))),
        ("+5", ByNumber(5)),
        ("1234567890", ByNumber(1234567890)),
        ("12345678901", ByNumber(10**10)),  # past ten digits: just "too high"
        ("-12345678901", ByNumber(-(10**10))),
        ("1abc", Search(("1abc",))),
        (".5", Search(("5",))),
        ("X5", Search(("x5",))),
        ("\xa0", RandomMaxim()),  # no-break space is a space, not a control character
        ("a" * 200, Search(("a" * 200,))),
    ],
)
def test_parse_query_edges(text, query):
    assert parse_query(text) == query


@pytest.mark.parametrize("text", ["\x7f", "a\x9fb", "\u2028", "\u2029", "x\ufeff"])
def test_other_control_characters_are_refused(text):
    query = parse_query(text)
    assert isinstance(query, Invalid)
    assert "control characters" in query.message


def test_201_characters_are_too_long():
    assert parse_query("a" * 201) == Invalid(
        "That’s a long query: keep it under 200 characters, like `/maxim search dropout`."
    )


def test_messages_name_the_command_they_were_given():
    assert parse_query("#") == Invalid("`#` needs a number after it, like `/maxim #42`.")
    assert parse_query("#", "maxim") == Invalid("`#` needs a number after it, like `maxim #42`.")
    assert parse_query("daily 9am", "maxim") == Invalid(
        "“9am” isn’t a time I can read. Use `maxim daily HH:MM Area/City` "
        "(24-hour clock, e.g. `09:00 Europe/Berlin`)."
    )


def test_daily_takes_a_time_a_zone_days_and_a_style_and_no_more():
    more = Invalid(
        "That’s more than a time, a zone, days, `card` and `thread`. "
        "Use `/maxim daily HH:MM Area/City` "
        "(24-hour clock, e.g. `09:00 Europe/Berlin`), or `/maxim daily off`."
    )
    assert parse_query("daily 09:00 Europe/Berlin extra") == more
    assert parse_query("daily 09:00 Europe/Berlin card extra") == more
    assert parse_query("daily 09:00 card Europe/Berlin") == DailySet(9, 0, "Europe/Berlin", "card")
    assert isinstance(parse_query("daily 09:00 Europe/Ber<lin"), Invalid)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily 09:00 Europe/Berlin mon-fri", DailySet(9, 0, "Europe/Berlin", None, 0b11111)),
        ("daily 09:00 mon-fri Europe/Berlin card", DailySet(9, 0, "Europe/Berlin", "card", 31)),
        ("daily 09:00 card mon-fri Europe/Berlin", DailySet(9, 0, "Europe/Berlin", "card", 31)),
        ("daily 09:00 mon,wed,fri", DailySet(9, 0, None, None, 0b10101)),
        ("daily 09:00 mon, wed, fri", DailySet(9, 0, None, None, 0b10101)),
        ("daily 09:00 sat,sun", DailySet(9, 0, None, None, 0b1100000)),
        ("daily 09:00 tue-thu,sat UTC", DailySet(9, 0, "UTC", None, 0b0101110)),
        ("daily 09:00 WEEKDAYS", DailySet(9, 0, None, None, 31)),
        ("daily 09:00 every day", DailySet(9, 0, None, None, 127)),
        ("daily 09:00 Every  Day card", DailySet(9, 0, None, "card", 127)),
        ("daily 09:00 daily", DailySet(9, 0, None, None, 127)),
    ],
)
def test_daily_days_in_any_order(text, expected):
    assert parse_query(text) == expected


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("daily 09:00 funday", "funday"),
        ("daily 09:00 Europe/Berlin mon-fry", "fry"),
        ("daily 09:00 mon,xyz", "xyz"),
        ("daily 09:00 mon- UTC", "mon-"),
        ("daily 09:00 <!channel>day", "channelday"),
    ],
)
def test_bad_days_get_one_line_that_says_what_works(text, word):
    assert parse_query(text) == Invalid(
        f"‘{word}’ is not a day: use mon–sun, ranges like mon-fri, or weekdays."
    )


def test_clock_hours_have_one_or_two_digits():
    assert parse_clock("009:00") is None
    assert parse_clock("7:30") == (7, 30)


@pytest.mark.parametrize(
    ("text", "echo"),
    [
        ("see https://evil.example/x now", "see now"),
        ("HTTP://EVIL.EXAMPLE", ""),
        ("ftp://x", ""),
        ("www.evil.example hi", "hi"),
        ("WWW.evil.example", ""),
        ("http:\u200b//evil.example", ""),  # what is left of it is still a link
        ("http:/\\/evil.example", ""),
        ("a\u3164\u3164b", "ab"),  # Hangul fillers are letters that show as nothing
        ("\uffa0ok\u115f\u1160", "ok"),
        ("\u3164", ""),
        ("\u2800x\u200b\u200c\u200d\u2060\ufeffy", "xy"),
        ("Europe/Berlin", "Europe/Berlin"),  # a slash alone is no link
        ("x  y", "x  y"),
        ("www", "www"),
        ("a://", ""),
    ],
)
def test_safe_echo_drops_links_and_invisible_letters(text, echo):
    assert safe_echo(text) == echo


def test_no_reply_echoes_a_link():
    reply = ask("daily 09:00 https://evil.example/x")
    assert "evil" not in reply.text
    assert "https" not in reply.text


def test_safe_echo_keeps_exactly_the_limit():
    assert safe_echo("a" * 40) == "a" * 40
    assert safe_echo("a" * 41) == "a" * 39 + "…"
    assert safe_echo("abcdef", limit=4) == "abc…"


# ------------------------------------------------------------------------------ answers


def test_each_reply_says_how_the_maxim_was_chosen():
    assert ask("").kind == "random"
    assert ask("42").kind == "number"
    assert ask("today").kind == "today"
    reply = ask("dropout layers")
    assert reply.kind == "search"
    assert reply.words == ("dropout", "layers")
    assert [m.number for m in reply.maxims] == [59, 16, 30, 6, 20, 54]
    assert MaximReply((load_corpus().get(1),), "random").words == ()


def test_a_card_is_the_same_answer_as_the_text_form_marked_card():
    for form in ("34", "#34", "today", "search dropout layers", "dropout layers", ""):
        text, card = ask(form), ask(f"card {form}")
        assert card == MaximReply(text.maxims, text.kind, text.words, card=True), form
        assert text.card is False
    assert ask("card search dropout layers").words == ("dropout", "layers")
    # the channel's maxim of the day, not the one of the empty key
    here = ask("card today", channel_key="slack:C1").maxims
    assert here == ask("today", channel_key="slack:C1").maxims != ask("today").maxims
    assert ask("card").maxims == ask("random").maxims  # the same rng draw


def test_a_card_of_nothing_gets_the_text_forms_friendly_error():
    for form in ("71", "0", "4.2", "#", "search", "search dropuotx", "1000000"):
        assert ask(f"card {form}") == ask(form), form
    assert ask("card 71", command="maxim").text == (
        "There’s no maxim 71: pick 1–70, or try `maxim search <word>`."
    )
    assert ask("card help") == ask("help")


@pytest.mark.parametrize("form", ["list", "daily", "daily off", "daily 09:00", "daily 09:00 card"])
def test_a_card_of_many_maxims_or_of_a_setting_says_what_works(form):
    assert parse_query(f"card {form}", "maxim") == Invalid(
        "A card shows one maxim: try `maxim card 42`, `maxim card today` or "
        "`maxim card search dropout` (a daily card: `maxim daily 09:00 card`)."
    )


def test_daily_with_only_a_style_asks_for_the_time():
    assert parse_query("daily card") == Invalid(
        "“card” isn’t a time I can read. Use `/maxim daily HH:MM Area/City` "
        "(24-hour clock, e.g. `09:00 Europe/Berlin`)."
    )
    assert parse_query("daily 09:00") == DailySet(9, 0, None, None)


def test_today_without_a_channel_is_the_empty_keys_maxim():
    assert ask("today").maxims == (load_corpus().for_day(TODAY, ""),)
    assert ask("today").maxims == (load_corpus().get(62),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("71", "There’s no maxim 71: pick 1–70, or try `/maxim search <word>`."),
        ("999999", "There’s no maxim 999999: pick 1–70, or try `/maxim search <word>`."),
        ("1000000", "There’s no maxim that high: pick 1–70, or try `/maxim search <word>`."),
        ("daily", "`/maxim daily` is for chat channels; here, try `/maxim help`."),
        ("1e9", "Maxims have whole numbers from 1 to 70: try `/maxim 42`."),
    ],
)
def test_error_texts_in_full(text, expected):
    assert ask(text) == TextReply(expected, "error")


def test_errors_use_the_given_command():
    assert ask("71", command="maxim").text == (
        "There’s no maxim 71: pick 1–70, or try `maxim search <word>`."
    )
    assert ask("#", command="maxim").text == "`#` needs a number after it, like `maxim #42`."


def test_not_found_says_did_you_mean_for_a_close_word():
    assert ask("search dropuotx") == TextReply(
        "No maxim matches “dropuotx”. Did you mean “dropout”? Try `/maxim list` to see them all.",
        "not_found",
    )


def test_not_found_cuts_a_long_query_to_forty_characters():
    reply = ask("search " + "qqqqq " * 10)
    assert reply.text == (
        "No maxim matches “qqqqq qqqqq qqqqq qqqqq qqqqq qqqqq qqq…”. "
        "Try `/maxim list` to see them all."
    )
    assert ask("search " + "q" * 40).text.startswith("No maxim matches “" + "q" * 40 + "”.")
    assert ask("search " + "q" * 41).text.startswith("No maxim matches “" + "q" * 39 + "…”.")


def test_help_is_the_whole_usage_text():
    reply = ask("help")
    assert reply.status == "help"
    assert reply.text == (
        "The Seventy Maxims of Effective Machine Learning Engineers\n"
        "  /maxim               a random maxim\n"
        "  /maxim 42            maxim 42 (also #42)\n"
        "  /maxim today         today’s maxim of the day\n"
        "  /maxim search WORDS  the best matches; bare words work too, typos forgiven\n"
        "  /maxim card 42       maxim 42 as a picture; also `card`, `card today`, "
        "`card search WORDS`\n"
        "  /maxim list          every maxim, numbered\n"
        "  /maxim daily         daily post here; "
        "`daily HH:MM Area/City [mon-fri] [card] [thread]`, `daily off` (admins)\n"
        "  /maxim stats         what this workspace asked for, shared and got daily (counts only)\n"
        "  /maxim help          this help"
    )
    assert render_help() == reply.text


def test_remembered_queries_are_bounded_in_number_and_size():
    from maxims import query

    sizes = []
    for n in range(3 * query._RECENT_SIZE):
        parse_query(f"search word{n}")
        sizes.append(len(query._RECENT))
    parse_query("x" * 40_000)
    parse_query("y" * query.MAX_QUERY_LENGTH)  # the longest query still answered

    assert max(sizes) == query._RECENT_SIZE
    assert len(query._RECENT) <= query._RECENT_SIZE
    assert max(len(text) for text, _ in query._RECENT) == query.MAX_QUERY_LENGTH
    assert parse_query("42") is parse_query("42")  # the same immutable value, handed out again


def test_stats_parses_and_the_core_alone_cannot_answer_it():
    from maxims.query import Stats

    assert parse_query("stats") == parse_query(" STATS ") == Stats()
    assert parse_query("stats please") != Stats()  # words: a search
    assert isinstance(parse_query("card stats"), Invalid)
    reply = ask("stats", command="maxim")
    assert reply.status == "error"
    assert "maxim stats" in reply.text
