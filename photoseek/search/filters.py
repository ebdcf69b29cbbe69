"""Search filters over the catalog, and full-text search over photo_text (FTS5).

`filter_photo_ids(catalog, filters)` -> the set of photo ids that pass, or None for no restriction.
Semantics:
  tags / not_tags  a tag matches with its narrower terms ("dog" keeps a golden retriever; the tags
                   table also stores broader rows). The user's feedback wins: a confirmed tag counts
                   whatever the models said, a rejected one never counts, and rejecting "dog" on a
                   photo also rejects its narrower "golden retriever" (feedback.effective_tags).
  date_from/to     inclusive, on taken_at (camera-local); "2019", "2019-06" and "2019-06-30" work.
                   Photos without a date do not pass a date filter.
  time_of_day      photos.time_of_day (or a confirmed day/twilight/night tag; a rejected one hides it).
  not_time_of_day  photos that do not pass `time_of_day` = that value ("not at night"); photos whose
                   time of day is unknown pass.
  not_dates        photos not taken in any of these years/months/days ("2020", "2020-06"); undated
                   photos pass.
  has_text         OCR found text, or the photo has the "text" tag (unless the user rejected "text").
  people           True: someone found by the people detector (photos.faces > 0) or a "person"/"people" tag; False: people counted
                   as 0 and no such tag. Photos whose faces were never counted pass neither. The
                   user's +person/-person wins over the face count.
  camera           case-insensitive substring of camera make + model.
  person           people by the names the user gave them: every one recognised in the photo (a name
                   no one has is an error that says how to name someone, never a guess).
  not_person       none of these recognised in the photo.
  person_only      with `person`: nobody else in it (no other recognisable face, and the people
                   detector counted no more people than were asked for).
  place            taken in any of these places (store.places: a city, region, county or country in
                   any of its names); photos with no known place do not pass.
  not_place        not taken in any of these places; photos with no known place pass.
  trip / trip_day  photos of the trips `trip` names (store.places.matching_trips), on their
                   `trip_day`-th day when given.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from photoseek.errors import PhotoseekError
from photoseek.results import Filters
from photoseek.vision.daytime import TIME_SOURCE
from photoseek.vision.faces import FACES_SOURCE, PEOPLE_TAGS
from photoseek.vision.taxonomy import expand, normalize_tag

if TYPE_CHECKING:
    import sqlite3

    from photoseek.store.catalog import Catalog

TIMES_OF_DAY = ("day", "twilight", "night")
FTS_COLUMNS = ("tags", "ocr", "caption", "filename")
# bm25 column weights: a tag or a word read in the photo says more than a word of a file name
FTS_WEIGHTS = (2.0, 1.5, 1.0, 0.5)
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_STOPWORDS = {
    "a", "an", "the", "of", "in", "on", "at", "to", "and", "or", "with", "for", "from", "by", "is", "are",
    "was", "were", "be", "it", "its", "this", "that", "these", "those", "some", "my", "me", "photo", "photos",
    "picture", "pictures", "image", "images", "show", "find",
}  # fmt: skip


# -- tag matching -------------------------------------------------------------------------------------


def photos_with_tag(conn: "sqlite3.Connection", tag: str) -> set[int]:
    """Ids of photos whose effective tags (feedback applied) include `tag` or a narrower term."""
    from photoseek.store.feedback import effective_tags

    tag = normalize_tag(tag)
    if not tag:
        raise PhotoseekError("A tag filter cannot be empty.")
    names = sorted(expand(tag))
    marks = ",".join("?" * len(names))
    ids = {
        row[0]
        for row in conn.execute(
            f"""SELECT photo_id FROM tags WHERE tag IN ({marks})
                UNION SELECT photo_id FROM tag_feedback WHERE verdict = 1 AND tag IN ({marks})""",
            [*names, *names],
        )
    }
    # Photos where the user rejected something: decide on their effective tags, so that rejecting
    # "cat" also stops "tabby cat" from matching (rejections are few; this stays cheap).
    with_rejections = {row[0] for row in conn.execute("SELECT DISTINCT photo_id FROM tag_feedback WHERE verdict = -1")}
    wanted = set(names)
    for pid in ids & with_rejections:
        if not any(t.tag in wanted for t in effective_tags(conn, pid)):
            ids.discard(pid)
    return ids


def _effective_tag_sql(tags: tuple[str, ...], column_source: str = "") -> tuple[str, list[Any]]:
    """Ids of photos with any of these exact tags (feedback applied, no expansion).

    column_source: the annotator whose tags a photos column already holds (time_of_day, faces); its
    rows are skipped here, as the caller tests the column (an indexed read, not 20k tag rows)."""
    marks = ",".join("?" * len(tags))
    sql = f"""SELECT t.photo_id FROM tags t WHERE t.tag IN ({marks}) AND t.source != ?
                AND NOT EXISTS (SELECT 1 FROM tag_feedback f
                                WHERE f.photo_id = t.photo_id AND f.tag = t.tag AND f.verdict = -1)
              UNION SELECT photo_id FROM tag_feedback WHERE verdict = 1 AND tag IN ({marks})"""
    return sql, [*tags, column_source, *tags]


def _rejected_sql(tags: tuple[str, ...]) -> tuple[str, list[Any]]:
    marks = ",".join("?" * len(tags))
    return f"SELECT photo_id FROM tag_feedback WHERE verdict = -1 AND tag IN ({marks})", list(tags)


def check_date(value: str, name: str) -> str:
    """`value` stripped when it is a year, a month or a day that exists ("2019", "2019-06",
    "2019-06-30"); PhotoseekError naming `name` otherwise ("2021-02-30", "2019-13", "12345-01-01")."""
    from datetime import date

    value = str(value).strip()
    if not _DATE.match(value):
        raise PhotoseekError(f"{name} must be a date like 2019, 2019-06 or 2019-06-30, not {value!r}.")
    parts = [int(p) for p in value.split("-")]
    try:
        date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError as error:
        raise PhotoseekError(f"{name}: {value!r} is not a real date ({error}).") from None
    return value



def filter_photo_ids(catalog: "Catalog", filters: Filters | None) -> set[int] | None:
    """The ids of photos that pass `filters`, or None when nothing is restricted."""
    if filters is None or filters.is_empty():
        return None
    conn = catalog.conn
    where: list[str] = []
    params: list[Any] = []

    if filters.date_from:
        where.append("taken_at IS NOT NULL AND taken_at >= ?")
        params.append(check_date(filters.date_from, "date_from"))
    if filters.date_to:
        date_to = check_date(filters.date_to, "date_to")
        # compare the same number of characters: "2019" keeps every day of 2019
        where.append("taken_at IS NOT NULL AND substr(taken_at, 1, ?) <= ?")
        params += [len(date_to), date_to]

    if filters.time_of_day:
        when = filters.time_of_day.strip().lower()
        if when not in TIMES_OF_DAY:
            raise PhotoseekError(f"time_of_day must be one of {', '.join(TIMES_OF_DAY)}, not {filters.time_of_day!r}.")
        rejected, p_rejected = _rejected_sql((when,))
        confirmed, p_confirmed = _effective_tag_sql((when,), column_source=TIME_SOURCE)
        # one IN over a UNION rather than an OR, so SQLite reads the time_of_day index, not every row
        where.append(f"id IN (SELECT id FROM photos WHERE time_of_day = ? AND id NOT IN ({rejected}) "
                     f"UNION {confirmed})")
        params += [when, *p_rejected, *p_confirmed]

    if filters.not_time_of_day:
        when = filters.not_time_of_day.strip().lower()
        if when not in TIMES_OF_DAY:
            raise PhotoseekError(
                f"not_time_of_day must be one of {', '.join(TIMES_OF_DAY)}, not {filters.not_time_of_day!r}.")
        rejected, p_rejected = _rejected_sql((when,))
        confirmed, p_confirmed = _effective_tag_sql((when,), column_source=TIME_SOURCE)
        where.append(f"id NOT IN (SELECT id FROM photos WHERE time_of_day = ? AND id NOT IN ({rejected}) "
                     f"UNION {confirmed})")
        params += [when, *p_rejected, *p_confirmed]

    for value in filters.not_dates:
        excluded = check_date(value, "not_dates")
        where.append("taken_at IS NULL OR substr(taken_at, 1, ?) != ?")
        params += [len(excluded), excluded]

    if filters.has_text is not None:
        rejected, p_rejected = _rejected_sql(("text",))
        confirmed, p_confirmed = _effective_tag_sql(("text",))
        has_text = (f"((id IN (SELECT photo_id FROM ocr WHERE trim(text) != '') AND id NOT IN ({rejected}))"
                    f" OR id IN ({confirmed}))")
        where.append(has_text if filters.has_text else f"NOT {has_text}")
        params += [*p_rejected, *p_confirmed]

    if filters.people is not None:
        rejected, p_rejected = _rejected_sql(PEOPLE_TAGS)
        confirmed, p_confirmed = _effective_tag_sql(PEOPLE_TAGS, column_source=FACES_SOURCE)
        has_people = f"id IN (SELECT id FROM photos WHERE faces > 0 AND id NOT IN ({rejected}) UNION {confirmed})"
        if filters.people:
            where.append(has_people)
            params += [*p_rejected, *p_confirmed]
        else:
            # no people: counted as none (or the user said so); never-counted photos stay out
            where.append(f"NOT {has_people} AND (faces = 0 OR id IN ({rejected}))")
            params += [*p_rejected, *p_confirmed, *p_rejected]

    if filters.camera:
        needle = filters.camera.strip().lower()
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("lower(coalesce(camera_make, '') || ' ' || coalesce(camera_model, '')) LIKE ? ESCAPE '\\'")
        params.append(f"%{escaped}%")

    # the positive sets narrow one another; the whole library is read only when nothing else says
    # which photos are in (a place filter alone reads its photos from an index, not 100k rows)
    ids: set[int] | None = None
    if where:
        sql = "SELECT id FROM photos WHERE " + " AND ".join(f"({w})" for w in where)
        ids = {row[0] for row in conn.execute(sql, params)}

    def narrow(found: set[int]) -> None:
        nonlocal ids
        ids = set(found) if ids is None else ids & found

    def every() -> set[int]:
        return ids if ids is not None else {row[0] for row in conn.execute("SELECT id FROM photos")}

    for tag in filters.tags:
        narrow(photos_with_tag(conn, tag))
    if filters.place or filters.trip:
        from photoseek.store.places import photos_in_places, trip_photo_ids

        if filters.place:
            narrow(photos_in_places(catalog, filters.place)[0])
        if filters.trip:
            narrow(trip_photo_ids(catalog, filters.trip, filters.trip_day)[0])
    if filters.person or filters.person_only:
        narrow(photos_with_people(conn, filters.person, only=filters.person_only))
    if filters.not_tags or filters.not_place or filters.not_person:
        ids = every()
        for tag in filters.not_tags:
            ids -= photos_with_tag(conn, tag)
        if filters.not_place:
            from photoseek.store.places import photos_in_places

            ids -= photos_in_places(catalog, filters.not_place)[0]
        if filters.not_person:
            ids -= photos_with_anyone(conn, filters.not_person)
    return every()


def photos_with_people(conn: "sqlite3.Connection", names: list[str], *, only: bool = False) -> set[int]:
    """Ids of photos where every person in `names` is recognised (see the module docstring for
    `only`). UnknownPersonError for a name no one in the library has."""
    from photoseek.store.faces import person_id_for, photos_with_person

    if only and not names:
        raise PhotoseekError("person_only needs the people to find (person), e.g. --person Anna --only.")
    wanted = [person_id_for(conn, name) for name in names]
    ids = photos_with_person(conn, wanted[0])
    for person_id in wanted[1:]:
        ids &= photos_with_person(conn, person_id)
    if only and ids:
        asked = set(wanted)
        counts = dict(conn.execute(f"SELECT id, faces FROM photos WHERE id IN ({','.join(str(i) for i in ids)})").fetchall())
        others = {row[0] for row in conn.execute(
            f"""SELECT DISTINCT photo_id FROM faces WHERE photo_id IN ({','.join(str(i) for i in ids)})
                AND (person_id IS NULL OR person_id NOT IN ({','.join(str(p) for p in asked)}))""")}
        ids = {i for i in ids if i not in others and (counts.get(i) or 0) <= len(asked)}
    return ids


def photos_with_anyone(conn: "sqlite3.Connection", names: list[str]) -> set[int]:
    """Ids of photos where any person in `names` is recognised (what `not_person` leaves out).
    UnknownPersonError for a name no one in the library has."""
    from photoseek.store.faces import person_id_for, photos_with_person

    found: set[int] = set()
    for name in names:
        found |= photos_with_person(conn, person_id_for(conn, name))
    return found


# -- full text ------------------------------------------------------------------------------------------


def fts_terms(query: str) -> list[str]:
    """The words of a user's query as FTS5 string literals: every word quoted (double quotes
    doubled), so operators, column names and syntax characters in the input are just text."""
    words = re.findall(r"\w+", query or "", flags=re.UNICODE)
    content = [w for w in words if w.lower() not in _STOPWORDS]
    return ['"' + w.replace('"', '""') + '"' for w in (content or words)]


def fulltext_search(
    catalog: "Catalog", query: str, column: str | None = None, limit: int = 50, *, snippets: bool = True
) -> list[tuple[int, float, str]]:
    """[(photo_id, score, snippet)], best first; score = -bm25 (higher is better).

    Photos containing every word rank first; when fewer than `limit` do, photos with any of the
    words follow. `column` limits the search to one of tags, ocr, caption, filename. With
    `snippets=False` the snippet is "" (FTS5's snippet() is half the cost of a ranked search).
    """
    if column is not None and column not in FTS_COLUMNS:
        raise PhotoseekError(f"Full-text column must be one of {', '.join(FTS_COLUMNS)}, not {column!r}.")
    terms = fts_terms(query)
    if not terms or limit <= 0:
        return []
    expressions = [" AND ".join(terms)]
    if len(terms) > 1:
        expressions.append(" OR ".join(terms))
    snippet_column = FTS_COLUMNS.index(column) if column else -1
    snippet_sql = "snippet(photo_text, ?, '[', ']', '…', 10)" if snippets else "?"
    weights = ", ".join(str(w) for w in FTS_WEIGHTS)
    results: list[tuple[int, float, str]] = []
    seen: set[int] = set()
    for expression in expressions:
        match = f"{column} : ({expression})" if column else expression
        rows = catalog.conn.execute(
            f"""SELECT rowid, bm25(photo_text, {weights}) AS rank, {snippet_sql}
                FROM photo_text WHERE photo_text MATCH ? ORDER BY rank LIMIT ?""",
            (snippet_column if snippets else "", match, limit),
        ).fetchall()
        for rowid, rank, snippet in rows:
            if rowid not in seen:
                seen.add(rowid)
                results.append((int(rowid), -float(rank), snippet))
        if len(results) >= limit:
            break
    return results[:limit]
