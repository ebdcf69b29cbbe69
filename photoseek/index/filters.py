"""Search filters over the catalog, and full-text search over photo_text (FTS5).

`filter_photo_ids(catalog, filters)` -> the set of photo ids that pass, or None for no restriction.
Semantics:
  tags / not_tags  a tag matches with its narrower terms ("dog" keeps a golden retriever; the tags
                   table also stores broader rows). The user's feedback wins: a confirmed tag counts
                   whatever the models said, a rejected one never counts, and rejecting "dog" on a
                   photo also stops its "golden retriever" row from matching "dog".
  date_from/to     inclusive, on taken_at (camera-local); "2019", "2019-06" and "2019-06-30" work.
                   Photos without a date do not pass a date filter.
  time_of_day      photos.time_of_day (or a confirmed day/twilight/night tag).
  has_text         OCR found text, or the photo has the "text" tag.
  people           True: a face (photos.faces > 0) or a "person"/"people" tag; False: faces counted
                   as 0 and no such tag. Photos whose faces were never counted pass neither.
  camera           case-insensitive substring of camera make + model.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from photoseek.errors import PhotoseekError
from photoseek.results import Filters
from photoseek.vision.taxonomy import expand, normalize_tag

if TYPE_CHECKING:
    from photoseek.index.catalog import Catalog

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


def _tag_match_sql(tag: str) -> tuple[str, list[Any]]:
    """SQL selecting the ids of photos whose effective tags match `tag` (with narrower terms)."""
    tag = normalize_tag(tag)
    if not tag:
        raise PhotoseekError("A tag filter cannot be empty.")
    names = sorted(expand(tag))
    marks = ",".join("?" * len(names))
    sql = f"""SELECT photo_id FROM (
            SELECT t.photo_id FROM tags t WHERE t.tag IN ({marks})
              AND NOT EXISTS (SELECT 1 FROM tag_feedback f
                              WHERE f.photo_id = t.photo_id AND f.tag = t.tag AND f.verdict = -1)
            UNION
            SELECT photo_id FROM tag_feedback WHERE verdict = 1 AND tag IN ({marks})
          )
          WHERE photo_id NOT IN (SELECT photo_id FROM tag_feedback WHERE tag = ? AND verdict = -1)"""
    return sql, [*names, *names, tag]


def _effective_tag_sql(tags: tuple[str, ...]) -> tuple[str, list[Any]]:
    """Ids of photos with any of these exact tags (feedback applied, no expansion)."""
    marks = ",".join("?" * len(tags))
    sql = f"""SELECT t.photo_id FROM tags t WHERE t.tag IN ({marks})
                AND NOT EXISTS (SELECT 1 FROM tag_feedback f
                                WHERE f.photo_id = t.photo_id AND f.tag = t.tag AND f.verdict = -1)
              UNION SELECT photo_id FROM tag_feedback WHERE verdict = 1 AND tag IN ({marks})"""
    return sql, [*tags, *tags]


def _check_date(value: str, name: str) -> str:
    value = str(value).strip()
    if not _DATE.match(value):
        raise PhotoseekError(f"{name} must be a date like 2019, 2019-06 or 2019-06-30, not {value!r}.")
    return value


def filter_photo_ids(catalog: "Catalog", filters: Filters | None) -> set[int] | None:
    """The ids of photos that pass `filters`, or None when nothing is restricted."""
    if filters is None or filters.is_empty():
        return None
    where: list[str] = []
    params: list[Any] = []

    for tag in filters.tags:
        sql, p = _tag_match_sql(tag)
        where.append(f"id IN ({sql})")
        params += p
    for tag in filters.not_tags:
        sql, p = _tag_match_sql(tag)
        where.append(f"id NOT IN ({sql})")
        params += p

    if filters.date_from:
        where.append("taken_at IS NOT NULL AND taken_at >= ?")
        params.append(_check_date(filters.date_from, "date_from"))
    if filters.date_to:
        date_to = _check_date(filters.date_to, "date_to")
        # compare the same number of characters: "2019" keeps every day of 2019
        where.append("taken_at IS NOT NULL AND substr(taken_at, 1, ?) <= ?")
        params += [len(date_to), date_to]

    if filters.time_of_day:
        when = filters.time_of_day.strip().lower()
        if when not in TIMES_OF_DAY:
            raise PhotoseekError(f"time_of_day must be one of {', '.join(TIMES_OF_DAY)}, not {filters.time_of_day!r}.")
        where.append(
            """((time_of_day = ? AND id NOT IN (SELECT photo_id FROM tag_feedback WHERE tag = ? AND verdict = -1))
                OR id IN (SELECT photo_id FROM tag_feedback WHERE tag = ? AND verdict = 1))"""
        )
        params += [when, when, when]

    if filters.has_text is not None:
        sql, p = _effective_tag_sql(("text",))
        has_text = f"(id IN (SELECT photo_id FROM ocr WHERE trim(text) != '') OR id IN ({sql}))"
        where.append(has_text if filters.has_text else f"NOT {has_text}")
        params += p

    if filters.people is not None:
        sql, p = _effective_tag_sql(("person", "people"))
        if filters.people:
            where.append(f"(faces > 0 OR id IN ({sql}))")
        else:
            where.append(f"(faces = 0 AND id NOT IN ({sql}))")
        params += p

    if filters.camera:
        needle = filters.camera.strip().lower()
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("lower(coalesce(camera_make, '') || ' ' || coalesce(camera_model, '')) LIKE ? ESCAPE '\\'")
        params.append(f"%{escaped}%")

    if not where:
        return None
    sql = "SELECT id FROM photos WHERE " + " AND ".join(f"({w})" for w in where)
    return {row[0] for row in catalog.conn.execute(sql, params)}


# -- full text ------------------------------------------------------------------------------------------


def fts_terms(query: str) -> list[str]:
    """The words of a user's query as FTS5 string literals: every word quoted (double quotes
    doubled), so operators, column names and syntax characters in the input are just text."""
    words = re.findall(r"\w+", query or "", flags=re.UNICODE)
    content = [w for w in words if w.lower() not in _STOPWORDS]
    return ['"' + w.replace('"', '""') + '"' for w in (content or words)]


def fulltext_search(
    catalog: "Catalog", query: str, column: str | None = None, limit: int = 50
) -> list[tuple[int, float, str]]:
    """[(photo_id, score, snippet)], best first; score = -bm25 (higher is better).

    Photos containing every word rank first; when fewer than `limit` do, photos with any of the
    words follow. `column` limits the search to one of tags, ocr, caption, filename.
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
    weights = ", ".join(str(w) for w in FTS_WEIGHTS)
    results: list[tuple[int, float, str]] = []
    seen: set[int] = set()
    for expression in expressions:
        match = f"{column} : ({expression})" if column else expression
        rows = catalog.conn.execute(
            f"""SELECT rowid, bm25(photo_text, {weights}) AS rank,
                       snippet(photo_text, ?, '[', ']', '…', 10)
                FROM photo_text WHERE photo_text MATCH ? ORDER BY rank LIMIT ?""",
            (snippet_column, match, limit),
        ).fetchall()
        for rowid, rank, snippet in rows:
            if rowid not in seen:
                seen.add(rowid)
                results.append((int(rowid), -float(rank), snippet))
        if len(results) >= limit:
            break
    return results[:limit]
