"""The people list as the terminal shows it: `photoseek people` and the chat's /people."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from rich.table import Table

    from photoseek.people.directory import PersonSummary


def people_table(listed: "Sequence[PersonSummary]", title: str | None = None) -> "Table":
    """id, name (or unnamed), faces, photos and a sample photo, one row a person."""
    from rich.markup import escape
    from rich.table import Table

    from photoseek.results import short_path

    table = Table(title=title)
    table.add_column("id", justify="right")
    table.add_column("name")
    table.add_column("faces", justify="right")
    table.add_column("photos", justify="right")
    table.add_column("e.g.", overflow="fold")
    for p in listed:
        table.add_row(str(p.id), (escape(p.name) if p.name else "[dim]unnamed[/dim]") + (" [dim](hidden)[/dim]" if p.hidden else ""),
                      str(p.faces), str(p.photos), escape(short_path(p.sample_photo or "")))
    return table


def people_hint(listed: "Sequence[PersonSummary]", face_recognition: bool,
                show: str = "`photoseek people show ID`") -> str:
    """What to do next: why the list is empty, or how to see and name the unnamed ("" when all are
    named); `show` is how the reader draws a person's faces where they are (the chat: /people ID)."""
    if not listed:
        if not face_recognition:
            return ("Face recognition is off for this library (turn it on with "
                    "`photoseek index --face-recognition PATH`).")
        return ("No people yet: faces are grouped into people while indexing, once at least three look alike. "
                'Name one with `photoseek people name --photo PHOTO "Name"`.')
    unnamed = sum(1 for p in listed if not p.name)
    if unnamed:
        return (f"{unnamed} unnamed: {show} draws their faces; "
                '`photoseek people name ID "Name"` (or the People page) names them.')
    return ""
