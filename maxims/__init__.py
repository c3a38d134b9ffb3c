"""The maxim core: corpus, query grammar, maxim of the day and message triggers.

Pure and synchronous. It must not import any chat SDK, read the clock or the environment,
or touch the network; the caller passes in the date and the random source.
"""

from maxims.corpus import Corpus, load_corpus
from maxims.errors import CorpusError, MaximError
from maxims.model import Maxim
from maxims.query import Query, parse_query, safe_echo
from maxims.reply import ListReply, MaximReply, Reply, TextReply, answer, render_help

__all__ = [
    "Corpus",
    "CorpusError",
    "ListReply",
    "Maxim",
    "MaximError",
    "MaximReply",
    "Query",
    "Reply",
    "TextReply",
    "answer",
    "load_corpus",
    "parse_query",
    "render_help",
    "safe_echo",
]
