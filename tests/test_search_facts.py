"""search.facts: what a search reads of each photo is kept between searches, and dropped the moment
the catalog changes, whether this connection wrote or another process did."""

from __future__ import annotations

import shutil

import pytest

from photoseek import Library
from tests.agent_support import photos_of
from tests.web_support import copy_library


@pytest.fixture
def library(agent_library_dir, tmp_path):
    shutil.copy(agent_library_dir.parent / "subjects.json", tmp_path)  # photos_of reads it beside the library
    with Library(copy_library(agent_library_dir, tmp_path / "lib"), llm=None) as lib:
        yield lib


def photo_queries(library) -> list[str]:
    """Trace the statements the library's connection runs that read photos, tags or captions."""
    seen: list[str] = []
    library.catalog.conn.set_trace_callback(
        lambda sql: seen.append(sql) if any(t in sql for t in ("FROM photos WHERE id IN", "FROM captions", "FROM tags")) else None)
    return seen


def test_a_second_search_reads_nothing_again(library):
    first = library.search("a dog", k=5)
    seen = photo_queries(library)
    again = library.search("a dog", k=5)
    assert seen == []  # every fact came from memory
    assert [(r.id, r.match, r.evidence) for r in again] == [(r.id, r.match, r.evidence) for r in first]


def test_a_tag_the_user_adds_is_seen_by_the_next_search(library, tmp_path):
    dog = min(photos_of(library, "dog"))
    assert "rex" not in library.engine.facts.facts([dog])[dog].tags
    library.tag(dog, add=["Rex"])  # a write by the very connection the cache reads through
    assert "rex" in library.engine.facts.facts([dog])[dog].tags
    with Library(library.path, llm=None) as other:  # another connection, as another process would be
        other.tag(dog, remove=["rex"])
    assert "rex" not in library.engine.facts.facts([dog])[dog].tags
    found = library.search("rex", k=3)
    assert all("rex" not in r.evidence.matched_tags for r in found)


def test_the_cache_answers_as_sqlite_does(library):
    from photoseek.search.facts import _load

    ids = [r.id for r in library.search("a dog", k=10)]
    cached = library.engine.facts.facts(ids + [10**9])  # an id the catalog does not hold is left out
    assert sorted(cached) == sorted(ids)
    assert cached == _load(library.catalog.conn, ids)


def test_threads_sharing_one_connection_read_the_cache_safely(library):
    """A Library used from several threads without per-thread connections (a script's thread pool)
    shares one cache: every thread gets what one thread alone gets."""
    from concurrent.futures import ThreadPoolExecutor

    queries = ["a dog", "a cat", "a red bus", "people at night", "food on a table", "a bear"] * 3
    alone = {q: [(r.id, r.match) for r in library.search(q, k=8)] for q in set(queries)}
    library.engine.facts._facts.clear()  # start cold, so threads fill the cache while others read it
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda q: [(r.id, r.match) for r in library.search(q, k=8)], queries))
    assert together == [alone[q] for q in queries]
