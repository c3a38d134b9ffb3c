"""The real corpus: complete, numbered, pinned, and faithful to the source."""

from pathlib import Path

import pytest

from maxims import Corpus, CorpusError, Maxim, load_corpus
from maxims.corpus import parse_corpus
from tests.maxims.pinned_texts import EXPECTED_TEXTS

# The source text, copied byte for byte from ../shared/seeds/ so the check runs in any clone.
SEED = Path(__file__).resolve().parent / "data" / "seed_maxims.txt"
SHARED_SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_77851bf649334f9a.txt"


def test_corpus_is_valid_and_reports_every_problem_at_once():
    corpus = load_corpus()
    problems = []
    if len(corpus) != 70:
        problems.append(f"{len(corpus)} maxims")
    for position, maxim in enumerate(corpus, 1):
        if maxim.number != position:
            problems.append(f"#{position} numbered {maxim.number}")
        if not maxim.text.strip():
            problems.append(f"#{position} empty")
        if len(maxim.text) >= 2000:
            problems.append(f"#{position} too long")
        if not maxim.tags:
            problems.append(f"#{position} has no tags")
        if "'" in maxim.text:
            problems.append(f"#{position} has a straight apostrophe")
    assert problems == []


def test_all_seventy_texts_are_pinned():
    assert tuple(m.text for m in load_corpus()) == EXPECTED_TEXTS


def test_texts_differ_from_the_source_only_by_restored_apostrophes():
    source = [
        line[2:] for line in SEED.read_text(encoding="utf-8").splitlines() if line.startswith("* ")
    ]
    assert len(source) == 70
    assert [m.text.replace("’", "") for m in load_corpus()] == source


@pytest.mark.skipif(not SHARED_SEED.is_file(), reason=f"no shared source text at {SHARED_SEED}")
def test_the_copied_source_text_equals_the_shared_one():
    assert SEED.read_bytes() == SHARED_SEED.read_bytes()


def test_exactly_the_three_nan_maxims_are_tagged_nan():
    assert [m.number for m in load_corpus() if "nan" in m.tags] == [34, 40, 55]


def test_possessives_and_contractions_are_told_apart():
    corpus = load_corpus()
    assert "Take its labels away" in corpus.get(21).text
    assert "your model’s failure" in corpus.get(25).text
    assert "If it’s a hack and it works, it’s still a hack" in corpus.get(43).text
    assert "others’ hyperparameters" in corpus.get(13).text


def test_validation_gathers_every_bad_entry():
    maxims = [Maxim(1, "fine"), Maxim(3, " "), Maxim(3, "x" * 2001)]
    with pytest.raises(CorpusError) as caught:
        Corpus(maxims)
    message = caught.value.user_message
    assert "entry 2 is numbered 3" in message
    assert "maxim 3 is empty" in message
    assert "over 2000 characters" in message


def test_parse_corpus_reports_malformed_lines():
    with pytest.raises(CorpusError, match="line 2"):
        parse_corpus("1\ttag\tfine\nnot a maxim line\n")


@pytest.mark.child_process
def test_loading_the_corpus_imports_no_chat_sdk_or_scheduler():
    import subprocess
    import sys

    code = (
        "import sys; from maxims import load_corpus; import maxims.suggest, maxims.triggers; "
        "load_corpus().get(42); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('slack_bolt', 'slack_sdk', 'discord', 'apscheduler', 'sqlalchemy', 'pydantic', "
        "'aiohttp', 'rapidfuzz', 're2', 'zoneinfo')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_preview_cuts_at_a_word_with_an_ellipsis():
    maxim = load_corpus().get(21)
    preview = maxim.preview(40)
    assert len(preview) <= 40
    assert preview.endswith("…")
    assert maxim.text.startswith(preview[:-1])


def test_the_first_and_last_maxims_are_fetched_by_number():
    corpus = load_corpus()
    assert corpus.get(1).text == "Preprocess, then train."
    assert corpus.get(70).number == 70
    assert corpus.get(70).text == EXPECTED_TEXTS[69]
    assert corpus.get(0) is None
    assert corpus.get(71) is None


def test_the_corpus_error_lists_every_problem_in_order():
    with pytest.raises(CorpusError) as caught:
        Corpus([Maxim(2, "fine"), Maxim(2, "")])
    assert caught.value.user_message == (
        "The maxim corpus is broken: entry 1 is numbered 2; maxim 2 is empty"
    )
    with pytest.raises(CorpusError) as caught:
        Corpus([])
    assert caught.value.user_message == "The maxim corpus is broken: there are no maxims"


def test_a_maxim_of_exactly_two_thousand_characters_is_fine():
    assert len(Corpus([Maxim(1, "x" * 2000)])) == 1


def test_parse_corpus_reads_tags_and_skips_comments_and_blank_lines():
    text = "# a comment\n\n1\ta, b ,\tFirst.\n2\t\t Second. \n"
    assert parse_corpus(text) == [Maxim(1, "First.", ("a", "b")), Maxim(2, "Second.", ())]


def test_parse_corpus_reports_every_malformed_line_at_once():
    with pytest.raises(CorpusError) as caught:
        parse_corpus("x\ttag\ttext\n1\ttag\n2\ttag\tfine\n")
    assert caught.value.user_message == (
        "The maxim corpus is broken: line 1 is not number<TAB>tags<TAB>text; "
        "line 2 is not number<TAB>tags<TAB>text"
    )


def test_tagged_finds_any_of_the_tags_in_corpus_order():
    corpus = load_corpus()
    assert [m.number for m in corpus.tagged(["nan", "tooling"])] == sorted(
        m.number for m in corpus if {"nan", "tooling"} & set(m.tags)
    )
    assert corpus.tagged(["no-such-tag"]) == ()
