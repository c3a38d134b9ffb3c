"""Fixtures of the core tests.

mutmut runs the suite once, then forks one worker per mutant from that warm process: any
cache the core filled during the warm run would answer with the unmutated code's results.
So every test starts with the core's caches empty.
"""

import pytest

import maxims.corpus
import maxims.daily
import maxims.query
import maxims.suggest


@pytest.fixture(autouse=True)
def _empty_core_caches():
    maxims.corpus._loaded = None
    maxims.daily._cache.clear()
    maxims.suggest._zones = None
    maxims.query._RECENT.clear()  # parsed queries: a mutant of the grammar must parse afresh
