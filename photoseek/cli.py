"""`photoseek` command line: argument parsing and printing only; the work is in `Library`.

Heavy modules are imported inside the command functions, so `photoseek search` starts fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Sequence

from photoseek.errors import PhotoseekError
from photoseek.results import EXPLAIN_MODES, short_path, standing_words


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=None) + "\n")


def _console():
    from rich.console import Console

    return Console()


def _progress(args):
    quiet_terminal = not sys.stderr.isatty() and os.environ.get("PHOTOSEEK_PROGRESS") != "1"
    if args.json or quiet_terminal:
        # Scripts and CI get clean output; a terminal gets the bar.
        from photoseek.progress import SilentProgress

        return SilentProgress()
    from photoseek.progress import RichProgress

    return RichProgress()


def _library(args):
    from photoseek.library import Library

    return Library(args.library, embedder=args.embedder, llm=None if args.llm == "none" else args.llm,
                   captioner=getattr(args, "captioner", None) or "local")


def _filters(args):
    from photoseek.results import Filters

    return Filters(
        tags=args.tag or [],
        not_tags=args.not_tag or [],
        date_from=args.date_from,
        date_to=args.date_to,
        time_of_day=args.time,
        has_text=True if args.has_text else None,
        people=args.people,
        camera=args.camera,
        person=args.person or [],
        not_person=args.not_person or [],
        person_only=bool(args.only),
        place=args.place or [],
        not_place=args.not_place or [],
        trip=args.trip,
        trip_day=args.trip_day,
    )


# -- commands ---------------------------------------------------------------------------------------
def _ask_to_prune(folders: list[str]) -> bool:
    """In a terminal: ask before removing the photos of folders that went missing (a drive that is
    not mounted looks the same as deleted photos)."""
    listed = "\n".join(f"  {f}" for f in folders)
    answer = input(f"These folders lost all or most of their photos since the last run:\n{listed}\n"
                   "If a drive is not mounted, answer no. Remove their photos from the library? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def cmd_index(args) -> int:
    lib = _library(args)
    prune = args.prune or (_ask_to_prune if not args.json and sys.stdin.isatty() and sys.stderr.isatty() else False)
    was_on = lib.face_recognition
    report = lib.index(args.paths, annotate=not args.no_annotate, captions=bool(args.captioner),
                       progress=_progress(args), ray=args.ray, retry_failed=args.retry_failed, prune=prune,
                       face_recognition=args.face_recognition)
    if args.json:
        _print_json(report.to_dict())
    else:
        counts, stages = report.summary()
        # two short lines: one long line wrapped mid-list in an 80-column terminal
        _console().print(f"[bold]Indexed[/] {lib.path} in {report.seconds:.1f} s" + (f" ({stages})" if stages else ""))
        _console().print(f"  {counts}")
        if report.places:
            _console().print(f"  {_places_summary(report.places)}")
        for folder in report.offline:
            _console().print(
                f"[yellow]Offline:[/] {folder['path']} ({folder['missing']} of {folder['photos']} photos missing): "
                "kept in the library. If they were deleted, run index again with --prune."
            )
        if report.failed:
            _console().print(f"{report.failed} file(s) failed: see `photoseek --library {lib.path} errors`")
        if report.annotated.get("color_profiles"):  # once, for photos indexed before colour management
            _console().print(f"  {report.annotated['color_profiles']} photo(s) re-read through their colour profile "
                             "(once, after an upgrade)")
        if report.people.get("new_people") or report.people.get("joined"):
            made = report.people
            _console().print(f"  people: {made['new_people']} new, {made['joined']} faces joined people you have; "
                             "`photoseek people` lists them")
        if args.face_recognition is False and was_on:
            stored = lib.catalog.conn.execute("SELECT count(*) FROM faces").fetchone()[0]
            _console().print("Face recognition is off for this library from now on"
                             + (f"; the {stored} faces already stored stay until `photoseek people forget --all`."
                                if stored else "."))
    return 0


def _places_summary(places: dict) -> str:
    """'places: 47 photos located (2 estimated), 2 unknown; home Berlin, Germany; 3 trips'."""
    text = f"places: {places['located']} photos located"
    if places.get("estimated"):
        text += f" ({places['estimated']} estimated)"
    text += f", {places['unlocated']} unknown"
    if places.get("home"):
        text += f"; home {places['home']}; {places['trips']} trip{'s' if places['trips'] != 1 else ''}"
    return text


def cmd_places(args) -> int:
    tree = _library(args).places()
    if args.json:
        _print_json(tree)
        return 0
    console = _console()
    if not tree["countries"]:
        console.print(f"No photo in this library has a known position ({tree['unknown']} photos): places come from "
                      "the photos' GPS, or `photoseek place PHOTO NAME`.")
        return 0
    from rich.tree import Tree

    def count(item: dict) -> str:
        estimated = f", {item['estimated']} estimated" if item.get("estimated") else ""
        return f"[dim]{item['photos']} photo{'s' if item['photos'] != 1 else ''}{estimated}[/dim]"

    root = Tree(f"[bold]{tree['located']} photos with a place[/bold]"
                + (f", {tree['unknown']} with no known position" if tree["unknown"] else ""))
    from photoseek.places.names import fold

    for country in tree["countries"]:
        branch = root.add(f"{country['country']} {count(country)}")
        for region in country["regions"]:
            cities = region["cities"]
            if len(cities) == 1 and fold(cities[0]["city"]) in fold(region["region"]):  # "Tokyo" in Tokyo
                branch.add(f"{cities[0]['city']} {count(cities[0])}" + (f" [dim]({region['region']})[/dim]"
                                                                         if fold(cities[0]['city']) != fold(region['region']) else ""))
                continue
            regional = branch.add(f"{region['region'] or '(no region)'} {count(region)}") \
                if len(country["regions"]) > 1 or region["region"] else branch
            for city in cities:
                regional.add(f"{city['city']} {count(city)}")
    console.print(root)
    return 0


def cmd_trips(args) -> int:
    data = _library(args).trips()
    if args.json:
        _print_json(data)
        return 0
    console = _console()
    if not data["home"]:
        console.print("No trips: no photo in this library has a known position (GPS), so there is no way to tell "
                      "home from away.")
        return 0
    console.print(f"[bold]Home:[/] {data['home']['label']} ({data['home']['days']} days of photos)")
    if not data["trips"]:
        console.print("No trips: every photo with a position was taken at or near home.")
        return 0
    from rich.table import Table

    table = Table(title=f"{len(data['trips'])} trips away from home")
    for column, justify in (("#", "right"), ("trip", "left"), ("from", "left"), ("to", "left"), ("days", "right"),
                            ("photos", "right"), ("places", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for number, trip in enumerate(data["trips"], 1):
        places = ", ".join(p["name"] for p in trip["places"][:4] if p["name"])
        table.add_row(str(number), trip["name"], trip["start"], trip["end"], str(trip["days"]), str(trip["photos"]),
                      places)
    console.print(table)
    console.print('[dim]Search a trip with --trip (last, first, a start date, a place it went to), e.g. '
                  'photoseek search --trip last, or ask "photos from my last trip".[/dim]')
    return 0


def cmd_place(args) -> int:
    lib = _library(args)
    if args.clear:
        info = lib.clear_place(args.photo)
    elif args.none:
        info = lib.set_place(args.photo, None)
    elif args.place:
        info = lib.set_place(args.photo, " ".join(args.place))
    else:
        info = lib.show(args.photo)
    if args.json:
        _print_json(info)
        return 0
    place = info.get("place")
    _console().print(f"{info['path']}: " + (f"{place['label']} ({place['how']})" if place else "no known place"),
                     soft_wrap=True)
    return 0


def cmd_annotate(args) -> int:
    lib = _library(args)
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    if only is None and args.captioner:  # naming a captioner asks for captions too
        from photoseek.ingest.annotate import DEFAULT_ANNOTATORS

        only = [*DEFAULT_ANNOTATORS, "captions"]
    counts = lib.annotate(only, progress=_progress(args), retry_failed=args.retry_failed)
    if args.json:
        _print_json(counts)
    else:
        _console().print("[bold]Annotated:[/] " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def cmd_search(args) -> int:
    from photoseek.search.filters import check_date

    if args.query is not None and not args.query.strip():
        raise PhotoseekError('The search text is blank. Give words to search for, e.g. photoseek search "a red bus", '
                             "or only filters, e.g. photoseek search --time night.")
    for flag, value in (("--from", args.date_from), ("--to", args.date_to)):
        if value is not None:
            check_date(value, flag)
    filters = _filters(args)
    if not (args.query or args.like or args.text or args.more_like or not filters.is_empty()):
        raise PhotoseekError("Give something to search for: TEXT, --like PHOTO, --text WORDS, --more-like ID, "
                             "or filters alone (e.g. --time night) to list matching photos, newest first.")
    if args.but and not args.like:
        raise PhotoseekError("--but modifies a reference photo: use it with --like PHOTO.")
    lib = _library(args)
    results = lib.search(
        args.query,
        like=args.like,
        but=args.but,
        k=args.k,
        filters=filters,
        more_like=args.more_like or [],
        less_like=args.less_like or [],
        text_in_photo=args.text,
        min_level=args.min_level,
    )
    query = args.query or args.text or (f"like {args.like}" + (f" but {args.but}" if args.but else "")
                                        if args.like else "") or _describe_filters(filters)
    searched_as = lib.engine.english(args.query) if args.query else None
    note = _translation_note(args.query, searched_as)
    empty = lib.why_empty(filters) if not results else None
    place_note = lib.place_note(filters)
    if args.json:
        from photoseek.agent.explain import result_dict

        # with the same composed "explanation" as /api/search and ask --json
        asked = " ".join(t for t in (searched_as or args.query, args.but, args.text) if t) or None
        out = {"query": query, "results": [result_dict(r, asked) for r in results]}
        if searched_as and searched_as != args.query:
            out["searched_as"] = searched_as  # the English the text encoder saw
        if note:
            out["note"] = note
        if empty or place_note:
            out["places_note"] = " ".join(n for n in (empty, place_note) if n)
        _print_json(out)
        return 0
    if searched_as and searched_as != args.query:
        query = f"{query} → {searched_as}"
    if note:
        _console().print(f"[yellow]Note:[/] {note}")
    if empty:  # a place or trip with no photo: said as such
        _console().print(empty)
        return 0
    if not results and not filters.is_empty() and _none_pass(lib, filters):
        # "No photos match 'dog'" would blame the words: no photo passed the filters to be searched
        _console().print(f"No photo passes the filters ({_describe_filters(filters)[len('photos '):]}), "
                         "so nothing was searched. Loosen or drop a filter.")
        return 0
    if results and any(r.match is not None for r in results):
        from photoseek.agent.explain import group_reasons, resemblance_note
        from photoseek.search.match import matches_first

        asked = " ".join(t for t in (searched_as or args.query, args.but, args.text) if t) or None
        results = matches_first(results)
        _print_results(query, results, [g.to_dict() for g in group_reasons(results, asked)])
        note = resemblance_note(results)
        if note:
            _console().print(note, markup=False, highlight=False)
    else:
        _print_results(query, results)
    if place_note:  # photos with no known position: left out or kept, said
        _console().print(place_note, style="dim", markup=False, highlight=False)
    return 0


def _none_pass(lib, filters) -> bool:
    from photoseek.search.filters import filter_photo_ids

    return filter_photo_ids(lib.catalog, filters) == set()


def _describe_filters(filters) -> str:
    """A filters-only search in words, for the results' title ("photos at night without people")."""
    from photoseek.results import describe_filters

    return "photos " + describe_filters(filters.to_dict())


def _translation_note(query: str | None, searched_as: str | None) -> str | None:
    """What to tell the user when a query in another language went to the English-only encoder as typed."""
    from photoseek.llm.translate import detect_language

    language = detect_language(query or "")
    if language is None or (searched_as and searched_as != query):
        return None
    return (f"the query looks like {language}; it was not translated (no language model answered), so the "
            "English-only text encoder searched the words as typed. Search in English for better results.")


def _print_results(query: str, results, groups: list[dict] | None = None, page: int | None = None,
                   more: str = "") -> None:
    """The results as a table; with `groups` (ReasonGroup.to_dict()), each group's heading (the reason
    its photos share, said once) above its rows, whose why column says what is left; with `page`, only
    the first `page` rows and how many more there are (`more`: where to see them)."""
    from rich.markup import escape
    from rich.table import Table

    from photoseek.results import match_markup

    console = _console()
    if not results:
        console.print(f"No photos match {query!r}.")
        return
    shown = results[:page] if page else results
    by_group = [(g["heading"], [r for r in shown if r.id in set(g["ids"])],
                 {int(i): text for i, text in g.get("reasons", {}).items()}) for g in groups or []]
    by_group = [g for g in by_group if g[1]] or [("", shown, {})]
    rank = {r.id: n for n, r in enumerate(results, 1)}
    for number, (heading, rows, reasons) in enumerate(by_group):
        table = Table(title=f"Results for {query!r}" if number == 0 else None)
        table.add_column("#", justify="right")
        table.add_column("match")
        table.add_column("score", justify="right")
        table.add_column("id", justify="right")
        table.add_column("path", overflow="fold")
        places = any(r.evidence.place for r in rows)
        if places:
            table.add_column("place", overflow="fold")
        table.add_column("why", overflow="fold")
        for r in rows:
            why = reasons.get(r.id) or r.explanation or _evidence_summary(r)
            where = [escape(_place_cell(r.evidence))] if places else []
            table.add_row(str(rank[r.id]), match_markup(r.match), f"{r.score:.3f}", str(r.id), short_path(r.path),
                          *where, escape(why))
        if heading and number == 0:
            console.print(f"[bold]Results for {escape(query)!r}[/]")
            table.title = None
        if heading:
            console.print(escape(heading), style="bold" if heading.startswith("Matches") else "yellow")
        console.print(table)
    rest = len(results) - len(shown)
    if rest:
        console.print(f"[dim]{rest} more{': ' + more if more else ''}[/dim]")


def _place_cell(evidence) -> str:
    """The place column: 'Lisbon, Portugal', '(estimated)' after a guess, '—' when unknown."""
    if not evidence.place:
        return "—"
    return evidence.place + (" (estimated)" if evidence.place_source == "estimated" else
                             " (set by you)" if evidence.place_source == "user" else "")


def _evidence_summary(r) -> str:
    """`search` composes no sentences: which request words met which evidence, and what was not found."""
    from photoseek.agent.explain import learned_phrase
    from photoseek.search.match import stands_alone

    def said(asked: str, found: str) -> str:
        if found.startswith("tag ") and found[4:] in r.evidence.learned:  # a taught word: say so
            return f"{asked}: {learned_phrase(found[4:], r.evidence)}"
        return found if stands_alone(asked, found) else f"{asked}: {found}"

    # attributes say what they met ("taken at night", "2 people found", "nobody found"); words need
    # their word ("dog: tag dog")
    met = ", ".join(said(asked, found) for asked, found in r.evidence.met.items())
    missing = ("not found: " + ", ".join(r.evidence.missing)) if r.evidence.missing else ""  # "2 people" too
    z = r.evidence.standing
    # a partial or strong level with words unmet comes from similarity: say so, with how far it stands out
    similar = (f"picture close to the search ({standing_words(z)})"
               if (not met or missing) and z is not None and r.match in ("strong", "partial") else "")
    summary = "; ".join(p for p in (met, missing, similar) if p) or ", ".join(r.evidence.matched_tags[:4])
    # a search by filters alone ranks nothing: every photo shown passes them
    return summary or ("passes every filter" if r.match == "strong" else "")


def cmd_show(args) -> int:
    info = _library(args).show(args.photo)
    if args.json:
        _print_json(info)
        return 0
    from rich.table import Table

    table = Table(show_header=False, title=info["path"])
    for key, value in info.items():
        if key == "tags":
            value = ", ".join(f"{t['tag']} ({t['confidence']:.2f}, {t['source']})" for t in value) or "—"
        elif key == "people":  # face 1: Anna (face distance 0.41); face 2: person 7 (unnamed)
            value = "; ".join(
                f"face {f['face']}: " + (f["person"] or (f"person {f['person_id']} (unnamed)" if f["person_id"]
                                                          else "nobody yet"))
                + (" (you said so)" if f["assigned"] == "user" else
                   f" (face distance {f['distance']:.2f})" if f.get("distance") is not None else "")
                for f in value) or "—"
        elif key == "place":
            value = f"{value['label']} ({value['how']})" if value else (
                "unknown (no GPS, and no photo of the same camera taken near that time has one)")
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ", ".join(value) or "—"
        elif key == "taken_at":
            from photoseek.ingest.metadata import describe_taken_at

            value = describe_taken_at(value, info.get("taken_at_source"), info.get("utc_offset_source"),
                                      info.get("time_zone"))
        table.add_row(key, "—" if value is None else str(value))
    _console().print(table)
    return 0


def cmd_errors(args) -> int:
    errors = _library(args).errors()
    if args.json:
        _print_json(errors)
        return 0
    if not errors:
        _console().print("No failed files.")
        return 0
    from rich.table import Table

    failed = [e for e in errors if e.get("kind") != "note"]
    notes = [e for e in errors if e.get("kind") == "note"]  # indexed all the same
    for rows, title in ((failed, f"{len(failed)} file(s) could not be indexed or annotated"),
                        (notes, f"{len(notes)} photo(s) indexed with a note")):
        if not rows:
            continue
        table = Table(title=title)
        table.add_column("path", overflow="fold")
        table.add_column("reason" if rows is failed else "note")
        for e in rows:
            table.add_row(e["path"], e["reason"])
        _console().print(table)
    if not failed:
        _console().print("No failed files.")
    return 0


def cmd_tag(args) -> int:
    add = [t[1:] for t in args.changes if t.startswith("+")]
    remove = [t[1:] for t in args.changes if t.startswith("-")]
    bad = [t for t in args.changes if not t[:1] in "+-" or len(t) < 2]
    if bad:
        raise PhotoseekError(f"Write tags as +TAG to confirm or -TAG to reject (got {', '.join(bad)}).")
    info = _library(args).tag(args.photo, add=add, remove=remove)
    if args.json:
        _print_json(info)
    else:
        console = _console()
        console.print(f"Tags of {info['path']}: " + ", ".join(t["tag"] for t in info["tags"]), soft_wrap=True)
        for status in info.get("taught", []):  # where each word now stands: learned, or how many more it needs
            console.print(status["summary"], markup=False, soft_wrap=True)
    return 0


def cmd_teach(args) -> int:
    lib = _library(args)
    with _waiting("Learning…"):
        status = lib.teach(args.word, args.photos, not_photos=args.not_photos or [])
    if args.json:
        _print_json(status.to_dict())
    else:
        _console().print(status.sentence(), markup=False, soft_wrap=True)
        if status.state == "learned" and status.tagged:
            _console().print(f'See them: photoseek search "{status.word}"  ·  undo: photoseek forget "{status.word}"',
                             markup=False, soft_wrap=True)
    return 0


def cmd_words(args) -> int:
    lib = _library(args)
    statuses = [lib.word(args.word)] if args.word else lib.words()
    if args.json:
        _print_json([s.to_dict() for s in statuses] if not args.word else statuses[0].to_dict())
        return 0
    console = _console()
    if not statuses:
        console.print("No taught words yet. Give a word to a few photos: photoseek teach giraffe 12 15 31 "
                      "(or photoseek tag 12 +giraffe); from 3 photos on, photoseek learns it and tags the rest.")
        return 0
    from rich.table import Table

    table = Table(title=f"Your words ({lib.path})")
    for name, justify in (("word", "left"), ("state", "left"), ("examples", "right"), ("rejected", "right"),
                          ("photos tagged", "right"), ("precision ≈", "right")):
        table.add_column(name, justify=justify)
    for s in statuses:
        state = {"learning": f"needs {s.needs} more"}.get(s.state, s.state)
        table.add_row(s.word, state, str(s.examples), str(s.rejections), str(s.tagged) if s.state == "learned" else "",
                      f"{s.precision:.2f}" if s.precision is not None else "")
    console.print(table)
    console.print("precision ≈: the share of the photos a word tags that should show it (the mean of their "
                  "confidence, calibrated by cross-validation on your examples).", style="dim")
    return 0


def cmd_forget(args) -> int:
    status = _library(args).forget(args.word)
    if args.json:
        _print_json(status.to_dict())
    else:
        _console().print(f'Forgot "{status.word}": removed its learned tag from {status.removed} '
                         f'photo{"s" if status.removed != 1 else ""}; your own {status.examples} stay '
                         f"(remove one with photoseek tag ID -\"{status.word}\").", markup=False, soft_wrap=True)
    return 0


def cmd_people(args) -> int:
    """`photoseek people [list|name|merge|not|move|hide|unhide|show|faces|forget|recluster]`."""
    lib = _library(args)
    people = lib.people()
    action = getattr(args, "people_command", None) or "list"
    console = _console()
    if action == "list":
        listed = people.list(hidden=args.all)
        if args.json:
            _print_json({"people": [p.to_dict() for p in listed], "face_recognition": lib.face_recognition})
            return 0
        _print_people(lib, listed)
        return 0
    if action == "faces":
        row = lib.catalog.resolve_photo(args.photo)
        faces = people.faces_in_photo(row["id"])
        if args.json:
            _print_json({"photo": row["display_path"], "faces": [f.to_dict() for f in faces]})
        elif not faces:
            console.print(f"No recognisable face in {row['display_path']}.")
        else:
            for f in faces:
                who = f.person or (f"person {f.person_id} (unnamed)" if f.person_id else "nobody yet")
                how = " (you said so)" if f.assigned == "user" else (f" (face distance {f.distance:.2f})" if f.distance else "")
                console.print(f"face {f.index}: {who}{how}   [dim]face id {f.id}[/dim]")
        return 0
    if action == "show":
        person = people.get(args.person)
        faces = people.faces_of(person.id, limit=args.limit)
        out = args.out or os.path.join(os.getcwd(), f"person-{person.id}.png")
        if faces:
            from photoseek.agent.contact_sheet import make_face_sheet

            make_face_sheet(people, faces, out)
        if args.json:
            _print_json({"person": person.to_dict(), "faces": [f.to_dict() for f in faces], "sheet": out if faces else None})
        else:
            console.print(f"[bold]{person.label}[/]: {person.faces} faces in {person.photos} photos"
                          + (" (hidden)" if person.hidden else ""))
            if faces:
                console.print(f"Contact sheet of {len(faces)} faces: {out}")
        return 0
    if action == "name":
        if args.photo:
            name = " ".join(args.words)
            face = _face_of(lib, people, args.photo, args.face)
            person = people.name_face(face.id, name)
        else:
            if len(args.words) < 2:
                raise PhotoseekError('Say who and what to call them: photoseek people name PERSON "Name" '
                                     '(or --photo PHOTO "Name").')
            person = people.name(args.words[0], " ".join(args.words[1:]))
        return _said(args, person, f"Person {person.id} is now [bold]{person.name}[/] ({person.faces} faces in "
                                   f"{person.photos} photos).")
    if action == "merge":
        person = people.merge(args.person, args.into)
        return _said(args, person, f"Merged into [bold]{person.label}[/]: {person.faces} faces in {person.photos} photos.")
    if action == "not":
        face = _face_of(lib, people, args.photo, args.face)
        person = people.get(args.person)
        face = people.reject(face.id, person.id)
        now = face.person or (f"person {face.person_id}" if face.person_id else "nobody yet")
        return _said(args, face, f"That face is not {person.label}; it will not be grouped with them again "
                                 f"(now: {now}).")
    if action == "move":
        face = _face_of(lib, people, args.photo, args.face)
        person = people.move(face.id, " ".join(args.to))
        return _said(args, person, f"That face is {person.label} now ({person.faces} faces in {person.photos} photos).")
    if action in ("hide", "unhide"):
        person = people.hide(args.person, hidden=action == "hide")
        return _said(args, person, f"{person.label} is {'hidden from' if person.hidden else 'back in'} the people list.")
    if action == "forget":
        if not args.all and not args.person:
            raise PhotoseekError("Say whom to forget (a person's id or name), or --all for everyone.")
        target = None if args.all else people.get(args.person)
        what = "everyone's faces, names and crops" if target is None else f"{target.label}: {target.faces} faces, " \
               "their crops and name"
        if not args.yes and not args.json:
            if not sys.stdin.isatty():
                raise PhotoseekError(f"This deletes {what}. Add --yes to confirm.")
            if input(f"Delete {what} from this library? [y/N] ").strip().lower() not in ("y", "yes"):
                console.print("Nothing deleted.")
                return 1
        report = people.forget(None if target is None else target.id)
        if target is None and lib.face_recognition:
            lib.set_face_recognition(False)
            report.notes.append("Face recognition is now off for this library; turn it back on with "
                                "`photoseek index --face-recognition PATH`.")
        if args.json:
            _print_json(report.to_dict())
        else:
            console.print(f"Forgot {report.people} {'person' if report.people == 1 else 'people'} and "
                          f"{report.faces} faces (descriptors and crops).")
            for note in report.notes:
                console.print(note)
        return 0
    if action == "recluster":
        report = people.cluster(full=True, progress=_progress(args))
        return _said(args, report, f"Grouped {report.faces} faces: {report.joined} joined people you have, "
                                   f"{report.in_new_people} made {report.new_people} new people, "
                                   f"{report.waiting} wait for more faces like them.")
    raise PhotoseekError(f"Unknown people command {action!r}.")


def _said(args, value, text: str) -> int:
    if args.json:
        _print_json(value.to_dict())
    else:
        _console().print(text)
    return 0


def _face_of(lib, people, photo: str, number: int | None):
    row = lib.catalog.resolve_photo(photo)
    return people.face_in_photo(row["id"], number, row["display_path"])


def _print_people(lib, listed) -> None:
    from photoseek.agent.people_view import people_hint, people_table

    console = _console()
    console.print(people_table(listed, f"People in {lib.path}") if listed else people_hint(listed, lib.face_recognition))
    if listed and people_hint(listed, lib.face_recognition):
        console.print(people_hint(listed, lib.face_recognition))


def cmd_duplicates(args) -> int:
    groups = _library(args).duplicates(threshold=args.threshold)
    if args.json:
        _print_json([[r.to_dict() for r in g] for g in groups])
        return 0
    console = _console()
    if not groups:
        console.print("No near-duplicates found.")
    for i, group in enumerate(groups, 1):
        console.print(f"[bold]Group {i}[/]")
        for r in group:
            console.print(f"  {r.id:>6}  {r.score:.3f}  {r.path}")
    return 0


def cmd_eval(args) -> int:
    from photoseek.evaluate import retrieval as evaluate

    lib = _library(args) if args.library else None
    if args.kind == "tags":
        from photoseek.evaluate.tags import eval_tags

        result = eval_tags(lib, args.folder, embedder=args.embedder, progress=_progress(args))
    elif args.kind == "answers":
        from photoseek.evaluate.answers import eval_answers

        result = eval_answers(args.folder, library=lib, embedder=args.embedder, progress=_progress(args),
                              answerer=_agent_answerer, empty=args.empty, concepts=args.concepts)
        if not args.json:
            _print_answers_eval(args.folder, result)
            return 0
    elif args.kind == "teach":
        from photoseek.evaluate.teach import eval_teach

        counts = [int(n) for n in (args.examples or "1,3,5").split(",") if n.strip()]
        result = eval_teach(args.folder, library=lib, embedder=args.embedder, progress=_progress(args),
                            answerer=_agent_answerer, examples=counts)
        if not args.json:
            _print_teach_eval(args.folder, result)
            return 0
    elif args.kind == "people":
        from photoseek.evaluate.people import eval_people

        result = eval_people(args.folder, library=lib, embedder=args.embedder, progress=_progress(args),
                             audit=args.audit)
        if not args.json:
            _print_people_eval(args.folder, result)
            return 0
    elif args.kind == "retrieval":
        result = evaluate.eval_retrieval(args.folder, library=lib, embedder=args.embedder, progress=_progress(args),
                                         signals=args.signals, feedback=args.feedback)
    else:
        result = evaluate.eval_composed(args.folder, library=lib, embedder=args.embedder, progress=_progress(args),
                                        signals=args.signals, method=args.method)
    if args.json:
        _print_json(result)
    else:
        from rich.table import Table

        table = Table(title=f"eval {args.kind}: {args.folder}")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in result.items():
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
        _console().print(table)
    return 0


def _print_people_eval(folder: str, result: dict) -> None:
    from rich.table import Table

    console = _console()
    for title, figures in ((f"eval people: {folder}", result),
                           (f"eval people: {folder}, audited labels", result.get("audited"))):
        if figures is None:
            continue
        table = Table(title=title)
        for name in ("person", "photos", "found", "precision", "recall", "F1", "missed (why)"):
            table.add_column(name, justify="left" if name in ("person", "missed (why)") else "right")
        for name, row in figures["per_person"].items():
            why = ", ".join(f"{k} {v}" for k, v in row["missed_by"].items())
            table.add_row(name, str(row["relevant"]), str(row["found"]), f"{row['precision']:.3f}",
                          f"{row['recall']:.3f}", f"{row['F1']:.3f}", f"{row['missed']}" + (f" ({why})" if why else ""))
        table.add_row("[bold]mean[/]", "", "", f"{figures['precision']:.3f}", f"{figures['recall']:.3f}",
                      f"{figures['F1']:.3f}", "")
        console.print(table)
        lost = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in figures["lost"].items())
        halves = "; ".join(f"half {h} ({', '.join(d['people'])}): pairwise {d['pairwise_precision']:.3f} / "
                           f"{d['pairwise_recall']:.3f}, search {d['precision']:.3f} / {d['recall']:.3f} / {d['F1']:.3f}"
                           for h, d in figures["halves"].items())
        console.print(f"Grouping (faces of single-face photos, {figures['pairwise_faces']} faces): pairwise precision "
                      f"{figures['pairwise_precision']:.3f}, recall {figures['pairwise_recall']:.3f}. "
                      f"Labelled photos missed, by where: {lost}.")
        console.print(f"[dim]{halves}[/dim]")
    console.print(f"{result['photos']} photos, a face found in {result['photos_with_a_face']}, a recognised face in "
                  f"{result['photos_with_a_recognised_face']} ({result['faces_recognised']} faces); "
                  f"{result['people_made']} people made.")


def _agent_answerer(library, query: str):
    """What `photoseek ask` presents for `query`: the agent's turn with the default planner, no LLM."""
    from photoseek.agent.session import Session
    from photoseek.evaluate.answers import AnswerSet

    session = Session(library, llm=None)
    answer = session.ask(query)
    return AnswerSet(answer.results, session.last_ranking)


def _print_answers_eval(folder: str, result: dict) -> None:
    from rich.table import Table

    table = Table(title=f"eval answers: {folder}")
    for name in ("query", "relevant", "matches", "by look", "precision", "recall", "F1", "top-10 F1"):
        table.add_column(name, justify="left" if name == "query" else "right")
    for row in result["per_query"]:
        # an answer that counts more than 2 x relevant + 3 matches is marked: no one would believe it
        matches = f"[red]{row['answered']}[/]" if row.get("over") else str(row["answered"])
        by_look = str(row.get("by_resemblance") or "")
        if "F1" in row:
            table.add_row(row["query"], str(row["relevant"]), matches, by_look, f"{row['precision']:.2f}",
                          f"{row['recall']:.2f}", f"{row['F1']:.2f}", f"{row['baseline_F1']:.2f}")
        else:
            table.add_row(row["query"], "0", matches, by_look, "", "", "said so" if row["said_so"] else "no", "")
    base = result["baseline"]
    table.add_row("[bold]macro average[/]", "", "", "", f"{result['precision']:.3f}", f"{result['recall']:.3f}",
                  f"{result['F1']:.3f}", f"{base['F1']:.3f}")
    console = _console()
    console.print(table)
    console.print(f"{result['queries']} queries. Every top-{base['k']} result counted as an answer: precision "
                  f"{base['precision']:.3f}, recall {base['recall']:.3f}, F1 {base['F1']:.3f}.")
    console.print(f"Answers counting more matches than 2 × relevant + 3 (3 where none is right): "
                  f"{result.get('overcounted', 0)} of {len(result['per_query'])}.")
    empty = result["empty"]
    if empty["queries"]:
        console.print(f"Queries whose right answer is empty: {empty['said_so']} of {empty['queries']} answered "
                      "that no photo matches.")


def _print_teach_eval(folder: str, result: dict) -> None:
    from rich.table import Table

    console = _console()
    shown = result["examples_shown"]
    table = Table(title=f"eval teach: {folder} (taught from {shown} photos; text alone / more like the {shown})")
    for name in ("word", "others", "mAP@200", "P@10", "precision", "recall", "F1", "answered"):
        table.add_column(name, justify="left" if name == "word" else "right")

    def trio(row: dict, key: str) -> str:
        return " / ".join(f"{row[f'{kind}_{key}']:.2f}" for kind in ("taught", "text", "feedback"))

    for row in result["per_concept"]:
        table.add_row(row["query"], str(row["relevant"]), trio(row, "mAP@200"), trio(row, "P@10"),
                      trio(row, "precision"), trio(row, "recall"), trio(row, "F1"), str(row["answered"]))
    console.print(table)
    curve = Table(title="macro averages by number of examples (answer figures: what ask presents as matches)")
    for name in ("examples", "kind", "mAP@200", "P@10", "precision", "recall", "F1"):
        curve.add_column(name, justify="left" if name in ("examples", "kind") else "right")
    for n, kinds in result["curve"].items():
        for kind in ("taught", "text", "feedback"):
            figures = kinds[kind]
            curve.add_row(str(n), {"taught": "taught word", "text": "text alone", "feedback": f"more like the {n}"}[kind],
                          *(f"{figures[k]:.3f}" for k in ("mAP@200", "P@10", "precision", "recall", "F1")))
    console.print(curve)
    if result["calibration"]:
        console.print("Learned tags' confidence against the labels (n = %d, pooled): " % shown + "; ".join(
            f"{b['confidence']}: {b['tags']} tags, mean {b['mean_confidence']:.2f}, right {b['share_right']:.2f}"
            for b in result["calibration"]))
    concepts = next(iter(result["curve"].values()))["concepts"] if result["curve"] else 0
    console.print(f"{concepts} concepts with at least 6 relevant photos; {result['seconds']:.0f} s.")


def cmd_ask(args) -> int:
    lib = _library(args)
    if not args.no_server and args.llm != "none":
        from photoseek.web.serve import ask_running_server, results_from_dicts

        served = ask_running_server(lib.path, args.message, explain=args.explain)  # a `photoseek serve` for this library: warm model
        if served is not None:
            if args.json:
                served.pop("session", None)
                served.pop("search", None)
                _print_json(served)
            else:
                _console().print(served["answer"])
                if served["results"]:  # an answer with none already says why ("No photo was taken in Rome; …")
                    _print_results(args.message, results_from_dicts(served["results"]), served.get("groups"),
                                   served.get("page"), _MORE_ANSWERS)
                _print_reworded(served)
            return 1 if served.get("error") else 0
    with _waiting("Asking the local model… (about a minute the first time on a machine, then seconds)"
                  if args.llm != "none" else "Searching…"):
        answer = lib.ask(args.message, explain=args.explain)
    if args.json:
        _print_json(answer.to_dict())
        return 1 if answer.error else 0  # a request it could not run (empty, an unknown person…) fails, as search does
    _console().print(answer.answer)
    if answer.error:  # the answer says what went wrong; an empty results table would only repeat it
        return 1
    if answer.results:  # an answer with none already says why ("No photo was taken in Rome; …")
        _print_results(args.message, answer.results, [g.to_dict() for g in answer.groups], answer.page, _MORE_ANSWERS)
    _print_reworded(answer.to_dict())
    return 0


# where the rest of a one-shot answer is
_MORE_ANSWERS = "`ask --json` lists every one; `photoseek chat` shows them a page at a time (/more)"


def _waiting(text: str):
    """A spinner on stderr while the model works, when a person watches the terminal (never in pipes)."""
    import contextlib

    from rich.console import Console

    err = Console(stderr=True)
    return err.status(text, spinner="dots") if err.is_terminal else contextlib.nullcontext()


def _print_reworded(answer: dict) -> None:
    """With --explain model: how many reasons the model's wording replaced."""
    from photoseek.agent.session import reworded_note

    note = reworded_note(answer.get("reworded"))
    if note:
        _console().print(f"[dim]{note}[/dim]")


def cmd_serve(args) -> int:
    from photoseek.web.serve import serve

    serve(_library(args), host=args.host, port=args.port, allow_remote=args.allow_remote,
          token=args.token or os.environ.get("PHOTOSEEK_TOKEN"), index=args.index or [],
          search_processes=args.search_processes)
    return 0


def cmd_mcp(args) -> int:
    from photoseek.web.mcp_server import run_http, run_stdio

    lib = _library(args)
    if args.http:
        run_http(lib, port=args.port)
    else:
        run_stdio(lib)
    return 0


def cmd_chat(args) -> int:
    from photoseek.agent.repl import run_repl

    run_repl(_library(args))
    return 0


def cmd_demo(args) -> int:
    from photoseek.demo import run_demo

    return run_demo(args)


def cmd_caption(args) -> int:
    lib = _library(args)
    caption = lib.caption(args.photo)
    if args.json:
        shown = lib.show(args.photo)
        _print_json({"id": shown["id"], "path": shown["path"], "caption": caption, "captioner": shown["captioner"]})
    else:
        _console().print(caption)
    return 0


def cmd_stats(args) -> int:
    stats = _library(args).stats()
    if args.json:
        _print_json(stats)
    else:
        for key, value in stats.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
            elif isinstance(value, list):
                value = "".join(f"\n  {_plain(item)}" for item in value) or "none"
            _console().print(f"[bold]{key}[/]: {value}", soft_wrap=True)
    return 0


def _plain(item) -> str:
    """One list entry of `stats` in words: {"path": "/a", "photos": 3} -> "/a (photos 3)"."""
    if not isinstance(item, dict):
        return str(item)
    rest = ", ".join(f"{k} {v}" for k, v in item.items() if k != "path")
    return f"{item.get('path', '')} ({rest})" if rest else str(item.get("path", ""))


def cmd_models(args) -> int:
    from photoseek.model_guide import RECOMMENDED, all_models
    from photoseek.vision import list_models

    models = all_models()
    if args.json:
        _print_json({"models": [m.to_dict() for m in models],
                     "backends": [{"name": b.name, "description": b.description, "extras": b.extras} for b in list_models()],
                     "recommended": {machine: {"embedder": e, "llm": l} for machine, (e, l) in RECOMMENDED.items()}})
        return 0
    from rich.table import Table

    def pct(value):
        return f"{value * 100:.1f}" if value is not None else ""

    table = Table(title="Models photoseek knows (--embedder / --llm)")
    for column, justify in (("spec", "left"), ("what", "left"), ("disk GB", "right"), ("RAM GB", "right"),
                            ("download", "left"), ("IN-1k 0-shot %", "right"), ("COCO t→i R@5 %", "right"),
                            ("source", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for m in models:
        what = m.summary + (" [multilingual]" if m.multilingual else "") + (" [vision]" if m.vision else "")
        table.add_row(m.spec, what, f"~{m.disk_gb}" if m.disk_gb else "", f"~{m.ram_gb}" if m.ram_gb else "",
                      m.download, pct(m.imagenet_zero_shot), pct(m.coco_text_to_image_r5), m.source)
    console = _console()
    console.print(table)
    console.print("Recommended: " + "; ".join(f"{machine}: --embedder {e} --llm {l}"
                                              for machine, (e, l) in RECOMMENDED.items()))
    console.print("Downloads happen once, on first use, into the Hugging Face cache; --offline (or "
                  "PHOTOSEEK_OFFLINE=1) forbids them. Disk/RAM: fp32 weights from the parameter count, estimates.")
    return 0


# -- parser -----------------------------------------------------------------------------------------
# one example per main command, shown by its --help (tests/test_cli_help.py parses each)
EXAMPLES = {
    "index": "photoseek --library ~/photos.lib index ~/Pictures",
    "search": 'photoseek --library ~/photos.lib search "dog on a beach" --from 2019-01-01 --to 2019-12-31',
    "ask": 'photoseek --library ~/photos.lib ask "beach photos with dogs from 2019"',
    "chat": "photoseek --library ~/photos.lib chat",
    "serve": "photoseek --library ~/photos.lib serve --index ~/Pictures",
    "show": "photoseek --library ~/photos.lib show 12",
    "tag": "photoseek --library ~/photos.lib tag 12 +dog -cat",
    "caption": "photoseek --library ~/photos.lib caption ~/Pictures/beach.jpg",
    "mcp": "photoseek --library ~/photos.lib mcp",
    "places": "photoseek --library ~/photos.lib places",
    "trips": "photoseek --library ~/photos.lib trips",
    "place": 'photoseek --library ~/photos.lib place 12 "Lisbon, Portugal"',
    "eval": "photoseek eval retrieval ../shared/data/coco-captions --json",
}
MAIN_EPILOG = """examples:
  photoseek --library ~/photos.lib index ~/Pictures
  photoseek --library ~/photos.lib search "a red bus"
  photoseek --library ~/photos.lib chat

`photoseek COMMAND --help` for the options of each; the guide: the README and docs/ of the repository."""


class _Parser(argparse.ArgumentParser):
    """argparse with a "did you mean" for a mistyped command or option."""

    def error(self, message: str):
        import difflib
        import re

        wrong = re.match(r"argument \S+: invalid choice: '([^']*)' \(choose from (.*)\)$", message)
        if wrong:
            choices = re.findall(r"'([^']*)'", wrong.group(2))
            close = difflib.get_close_matches(wrong.group(1), choices, n=1)
            message = (f"unknown command or choice '{wrong.group(1)}'"
                       + (f"; did you mean '{close[0]}'?" if close else f" (one of: {', '.join(choices)})"))
        unknown = re.match(r"unrecognized arguments: (.*)$", message)
        if unknown:
            options = [o for action in self._actions for o in action.option_strings]
            hints = [close[0] for word in unknown.group(1).split() if word.startswith("-")
                     for close in [difflib.get_close_matches(word.split("=")[0], options, n=1)] if close]
            if hints:
                message += f" (did you mean {' / '.join(hints)}?)"
        super().error(message)


def _add_global_options(parser: argparse.ArgumentParser, *, after_command: bool = False) -> None:
    """The options every command shares. Given after the command too (`photoseek search dog --library L`),
    where an unset one must not overwrite what was given before the command."""
    def default(value):
        return argparse.SUPPRESS if after_command else value

    parser.add_argument("--library", metavar="DIR", default=default(os.environ.get("PHOTOSEEK_LIBRARY")),
                        help="library folder (default: $PHOTOSEEK_LIBRARY or $XDG_DATA_HOME/photoseek/library)")
    parser.add_argument("--embedder", default=default(os.environ.get("PHOTOSEEK_EMBEDDER", "conse")),
                        help="conse (offline default), hf:REPO_OR_FOLDER, open_clip:ARCH:PRETRAINED")
    parser.add_argument("--llm", default=default(os.environ.get("PHOTOSEEK_LLM", "llamacpp")),
                        help="llamacpp (embedded default), llamacpp:PATH.gguf, ollama:MODEL, or none")
    parser.add_argument("--offline", action="store_true", default=default(None),
                        help="never download a model (same as PHOTOSEEK_OFFLINE=1); a missing one is an error "
                             "that says what to fetch")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="photoseek", description="Local, private, conversational photo search.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=MAIN_EPILOG)
    _add_global_options(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help: str, json_flag: bool = True):
        example = EXAMPLES.get(name)
        p = sub.add_parser(name, help=help, description=help, epilog=example and f"example:\n  {example}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func)
        _add_global_options(p.add_argument_group("options of every command (also before it)"), after_command=True)
        if json_flag:
            p.add_argument("--json", action="store_true", help="print JSON for scripts")
        return p

    p = add("demo", cmd_demo, "index sample photos from scikit-image and show searches")
    p.add_argument("--no-llm", action="store_true", help="skip the LLM turns of the demo")

    p = add("index", cmd_index, "index photo folders (again later: only what changed)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--no-annotate", action="store_true", help="stage 1 only (embeddings); annotate later")
    p.add_argument(
        "--ray", nargs="?", const="", default=None, metavar="ADDRESS",
        help="decode, annotate and embed on a Ray cluster's workers (the [ray] extra); ADDRESS as for ray.init "
        "(default: RAY_ADDRESS, else a local Ray; without ADDRESS put --ray after the PATHs); photos and "
        "library must be at the same paths on every node",
    )  # fmt: skip
    p.add_argument("--captioner", help="also caption every photo, in a last resumable pass: ollama:MODEL "
                   "(a vision model sees the photo), local (the LLM from the evidence) or template; "
                   "default: none, captions are written on demand (`photoseek caption ID`)")

    p.add_argument("--retry-failed", action="store_true",
                   help="try again files and annotations that failed before, even if unchanged")
    recognition = p.add_mutually_exclusive_group()
    recognition.add_argument("--no-face-recognition", dest="face_recognition", action="store_false", default=None,
                             help="do not recognise faces in this library from now on (remembered)")
    recognition.add_argument("--face-recognition", dest="face_recognition", action="store_true",
                             help="recognise faces again in a library where it was turned off")
    p.add_argument("--prune", action="store_true",
                   help="remove photos of folders that lost all or most of their photos (default: keep them "
                        "as offline, e.g. an unmounted drive; a terminal asks)")

    p = add("annotate", cmd_annotate, "run annotators again (tags, time, faces, ocr, captions)")
    p.add_argument("--only", help="comma-separated subset: tags,time,colors,faces,ocr,captions "
                   "(default: all but captions)")
    p.add_argument("--captioner", help="for captions: local (LLM from evidence, default), template, or ollama:MODEL")
    p.add_argument("--retry-failed", action="store_true", help="try again photos an annotator failed on")

    p = add("search", cmd_search, "search by words, by an example photo, or by filters")
    p.add_argument("query", nargs="?", help="what to look for, in words")
    p.add_argument("-k", type=int, default=10, help="number of results (default 10)")
    p.add_argument("--like", metavar="PHOTO", help="a photo path or id: find similar photos")
    p.add_argument("--but", metavar="TEXT", help='with --like: the change, e.g. "at night"')
    p.add_argument("--text", metavar="WORDS", help="find photos whose visible text (OCR) contains WORDS")
    p.add_argument("--more-like", type=int, action="append", metavar="ID", help="relevance feedback: more like ID")
    p.add_argument("--less-like", type=int, action="append", metavar="ID", help="relevance feedback: less like ID")
    p.add_argument("--min-level", choices=["strong", "partial", "weak"],
                   help="only results matching at least this well (strong: meets the whole request; partial: "
                        "some of it; weak: all, only ranked); fewer than -k may come back")
    _add_filter_flags(p)

    p = add("show", cmd_show, "what the library knows about a photo")
    p.add_argument("photo", metavar="PATH_OR_ID")

    add("errors", cmd_errors, "what failed, and why; photos indexed with a note")
    add("stats", cmd_stats, "library summary: photos, model, pending work")
    add("status", cmd_stats, "what is searchable now and what is still pending")
    p = add("caption", cmd_caption, "one sentence about a photo, written once and kept")
    p.add_argument("photo", metavar="PATH_OR_ID")

    add("places", cmd_places, "where photos were taken: countries, regions, cities")
    add("trips", cmd_trips, "home, and the trips away from it")
    p = add("place", cmd_place, "show or correct where a photo was taken")
    p.add_argument("photo", metavar="PATH_OR_ID")
    p.add_argument("place", nargs="*", metavar="PLACE",
                   help="where it was taken: a town ('Lisbon', 'Portland, Oregon'), region, country, or a position "
                        "('38.72, -9.14'); without one: show it")
    p.add_argument("--clear", action="store_true", help="forget your correction (its GPS or an estimate names it again)")
    p.add_argument("--none", action="store_true", help="the photo has no known place (its GPS is wrong)")

    p = add("tag", cmd_tag, "confirm (+TAG) or reject (-TAG) a photo's tags")
    p.add_argument("photo", metavar="PATH_OR_ID")
    p.add_argument("changes", nargs="+", metavar="+TAG|-TAG")

    p = add("teach", cmd_teach, "give a word to photos: from 3 on it is learned")
    p.add_argument("word", help="the word or phrase, e.g. giraffe or \"our cabin\"")
    p.add_argument("photos", nargs="*", metavar="PHOTO", help="photo ids or paths that show it (examples)")
    p.add_argument("--not", dest="not_photos", action="append", metavar="PHOTO",
                   help="a photo that does not show it (a rejection; repeat the flag for more)")

    p = add("words", cmd_words, "your taught words: photos tagged, precision")
    p.add_argument("word", nargs="?", help="only this word")

    p = add("forget", cmd_forget, "forget a taught word (your own tags stay)")
    p.add_argument("word")

    p = add("people", cmd_people, "the people in your photos: list, name, correct")
    p.add_argument("--all", action="store_true", help="list hidden people too")
    people = p.add_subparsers(dest="people_command", metavar="ACTION")

    def person_action(name: str, help: str):
        q = people.add_parser(name, help=help, description=help)
        q.add_argument("--json", action="store_true", help="print JSON for scripts")
        _add_global_options(q.add_argument_group("options of every command (also before it)"), after_command=True)
        return q

    q = person_action("name", 'name a person: people name PERSON "Anna", or the face in a photo: '
                              'people name --photo PHOTO [--face N] "Anna"')
    q.add_argument("words", nargs="+", metavar="PERSON NAME | NAME")
    q.add_argument("--photo", metavar="PATH_OR_ID", help="the photo whose face this names")
    q.add_argument("--face", type=int, metavar="N", help="which face, 1 to N from the left (`people faces PHOTO`)")
    q = person_action("merge", "one person is another: people merge PERSON INTO_PERSON")
    q.add_argument("person", metavar="PERSON")
    q.add_argument("into", metavar="INTO_PERSON")
    q = person_action("not", '"this face is not PERSON": people not PERSON --photo PHOTO [--face N]')
    q.add_argument("person", metavar="PERSON")
    q.add_argument("--photo", required=True, metavar="PATH_OR_ID")
    q.add_argument("--face", type=int, metavar="N")
    q = person_action("move", "this face is someone else: people move --photo PHOTO [--face N] PERSON_OR_NAME")
    q.add_argument("to", nargs="+", metavar="PERSON")
    q.add_argument("--photo", required=True, metavar="PATH_OR_ID")
    q.add_argument("--face", type=int, metavar="N")
    for action, help in (("hide", "hide a person from the people list (still searchable by name)"),
                         ("unhide", "show a hidden person again")):
        q = person_action(action, help)
        q.add_argument("person", metavar="PERSON")
    q = person_action("show", "a person's faces, drawn on a contact sheet (PNG)")
    q.add_argument("person", metavar="PERSON")
    q.add_argument("--out", metavar="FILE.png", help="where to write the sheet (default: ./person-ID.png)")
    q.add_argument("--limit", type=int, default=64, help="at most this many faces (default 64)")
    q = person_action("faces", "the recognised faces in a photo, numbered from the left, and who each is")
    q.add_argument("photo", metavar="PATH_OR_ID")
    q = person_action("forget", "delete a person (or --all): descriptors, face crops, name")
    q.add_argument("person", nargs="?", metavar="PERSON")
    q.add_argument("--all", action="store_true", help="everyone (and turn face recognition off)")
    q.add_argument("--yes", action="store_true", help="do not ask")
    person_action("recluster", "group all faces again (names, merges and corrections are kept)")

    p = add("duplicates", cmd_duplicates, "groups of near-identical photos")
    p.add_argument("--threshold", type=float, help="similarity a pair must reach, 0..1 (default 0.78: mean of the visual and layout cosines)")

    p = add("eval", cmd_eval, "measure quality on a labelled folder")
    p.add_argument("kind", choices=["tags", "retrieval", "composed", "answers", "people", "teach"])
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--signals", help="retrieval/composed: comma-separated signals to use (default: all, fused)")
    p.add_argument("--method", choices=["fused", "cirevl"], default="fused",
                   help="composed: fused similarity + modifier (default), or CIReVL (describe, rewrite with the LLM, search by text)")
    p.add_argument("--feedback", action="store_true",
                   help="retrieval: also simulate one round of relevance feedback (mark the true photo if in the top 10)")
    p.add_argument("--examples", metavar="N,N,...",
                   help="teach: numbers of example photos to teach each word from (default 1,3,5: the curve)")
    p.add_argument("--empty", metavar="FILE",
                   help="answers: more queries (JSON lines, \"query\" and \"relevant\": []) whose right answer is "
                        "empty; reports how often the answer says no photo matches")
    p.add_argument("--concepts", metavar="FILE",
                   help="answers: read the queries from FILE instead of DIR/concepts.jsonl (files relative to DIR)")
    p.add_argument("--audit", metavar="FILE",
                   help="people: an audit of DIR's labels (CSV file,person,verdict: not_person, uncertain, "
                        "other_face); the figures are also given for the audited labels")

    p = add("ask", cmd_ask, "one request to the assistant: plan, search, explain")
    p.add_argument("message")
    p.add_argument("--no-server", action="store_true",
                   help="answer in this process even when a `photoseek serve` runs for the library")
    p.add_argument("--explain", choices=EXPLAIN_MODES, default="evidence",
                   help="evidence (default): reasons composed from each photo's evidence, instant; model: the "
                        "LLM rewords the top five (about 40 s more on a 2-core CPU)")

    p = add("serve", cmd_serve, "the web page and HTTP API (http://127.0.0.1:8765/)", json_flag=False)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a --host other machines can reach; every request then needs the token")
    p.add_argument("--token", help="the token requests must carry (default: made up and printed when remote; "
                                   "$PHOTOSEEK_TOKEN)")
    p.add_argument("--index", action="append", metavar="PATH", help="index PATH in the background while serving")
    p.add_argument("--search-processes", type=int, metavar="N",
                   help="worker processes answering /api/search, so concurrent searches use every core "
                        "(default 2 on 2 or more cores; 0: search in the server process)")

    p = add("mcp", cmd_mcp, "an MCP server of the search tools, for agent hosts", json_flag=False)
    p.add_argument("--http", action="store_true", help="streamable HTTP at http://127.0.0.1:PORT/mcp instead of stdio")
    p.add_argument("--port", type=int, default=8766)

    add("chat", cmd_chat, "a conversation with the assistant, in the terminal", json_flag=False)
    add("models", cmd_models, "the models photoseek knows, and what each needs")
    return parser


def _add_filter_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filters")
    g.add_argument("--tag", action="append", metavar="TAG", help="must have TAG (broader terms match: dog ⊃ retriever)")
    g.add_argument("--not-tag", action="append", metavar="TAG", help="must not have TAG")
    g.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="taken on or after")
    g.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="taken on or before")
    g.add_argument("--time", choices=["day", "twilight", "night"], help="time of day")
    g.add_argument("--has-text", action="store_true", help="only photos with readable text")
    people = g.add_mutually_exclusive_group()
    people.add_argument("--people", dest="people", action="store_true", default=None, help="only photos with people")
    people.add_argument("--no-people", dest="people", action="store_false", help="only photos without people")
    g.add_argument("--camera", help="camera make or model contains this")
    g.add_argument("--person", action="append", metavar="NAME",
                   help="NAME is recognised in the photo (a name given with `photoseek people name`); repeat: all of them")
    g.add_argument("--only", action="store_true", help="with --person: nobody else in the photo")
    g.add_argument("--not-person", action="append", metavar="NAME", help="NAME is not in the photo")
    g.add_argument("--place", action="append", metavar="PLACE",
                   help="taken in PLACE: a city, region or country, in any name people use (Lisbon, Lisboa, 里斯本, "
                        "'Paris, France'); repeat for any of several (`photoseek places` lists them)")
    g.add_argument("--not-place", action="append", metavar="PLACE", help="not taken in PLACE (repeatable)")
    g.add_argument("--trip", metavar="TRIP",
                   help="on a trip away from home: last, first, its start date, or a place it went to "
                        "(`photoseek trips` lists them)")
    g.add_argument("--trip-day", type=int, metavar="N", help="with --trip: its N-th day (1 = the first, -1 = the last)")


_VALUE_OPTIONS = ("--library", "--embedder", "--llm")  # the global options that take a value


def _tag_changes_as_positionals(argv: list[str]) -> list[str]:
    """`photoseek tag 12 +dog -cat`: argparse would read -cat as an option, so everything after the
    photo that is not one of tag's own options (or a global one) becomes positional (behind `--`)."""
    at = 0
    while at < len(argv) and argv[at].startswith("-"):  # skip the global options and their values
        at += 2 if argv[at] in _VALUE_OPTIONS else 1
    if at >= len(argv) or argv[at] != "tag" or "--" in argv:
        return argv
    own, rest, tail, i = [], [], argv[at + 1:], 0
    while i < len(tail):
        word = tail[i]
        if word in ("--json", "-h", "--help", "--offline") or word.split("=", 1)[0] in _VALUE_OPTIONS and "=" in word:
            own.append(word)
        elif word in _VALUE_OPTIONS and i + 1 < len(tail):
            own += [word, tail[i + 1]]
            i += 1
        else:
            rest.append(word)
        i += 1
    return argv[: at + 1] + own + ["--"] + rest


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost sub-command parser `args` was parsed by (`people name` → that of name)."""
    current = parser
    while True:
        subparsers = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)]
        chosen = subparsers and getattr(args, subparsers[0].dest, None)
        if not chosen or chosen not in subparsers[0].choices:
            return current
        current = subparsers[0].choices[chosen]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, unknown = parser.parse_known_args(_tag_changes_as_positionals(argv))
    if unknown:  # said by the command's own parser, so its usage and options are what is shown
        _command_parser(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.offline:
        os.environ["PHOTOSEEK_OFFLINE"] = "1"  # read by every download path (photoseek.config.offline)
    try:
        return args.func(args)
    except PhotoseekError as exc:
        print(f"photoseek: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("photoseek: interrupted; everything committed so far is kept.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
