"""`photoseek chat`: a rich REPL over a Session.

Each turn shows the plan, then the first page of results (the matches, then those only close, each
group's shared reason said once above its rows), whose explanations fill in as the model streams
them, then the answer. /more shows the next page. Commands work on the last results: /why N,
/show N, /open N, /more, /sheet, /json, /reset, /help, /quit; /people lists the people in the library
and /people NAME draws their faces; /explain model|evidence chooses who
words the reasons (evidence by default: instant; the model's wording takes about a minute a turn on
a 2-core CPU, and holds the prompt).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from photoseek.agent.contact_sheet import inline_image_protocol, make_contact_sheet, show_inline
from photoseek.agent.explain import ReasonGroup
from photoseek.agent.session import AnswerReady, ExplanationReady, PlanReady, ResultsReady, Session, reworded_note
from photoseek.errors import PhotoseekError
from photoseek.results import EXPLAIN_MODES, SearchResult, match_markup

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table

    from photoseek.library import Library

# one paragraph a line: the console wraps them to the terminal (hard breaks came out ragged at 80 columns)
HELP = "\n".join((
    'Ask for photos in your own words ("beach photos with dogs from 2019", "猫的照片"), then refine ("only '
    'from 2019", "without people", "more like 2 and 5, not 4", "like #3 but at night").',
    'Teach a word by saying which photos show it ("#3 is a giraffe", "#2 and #5 are my bike", "#4 is not a '
    'giraffe", "this one is our cabin" after /show N): from 3 photos on, photoseek learns it and finds the rest.',
    "Reasons are composed from each photo's evidence; /explain model has the language model reword them "
    "(about a minute a turn on a small CPU), /explain evidence goes back.",
    "Commands: /why N  /show N  /open N  /more  /sheet  /json  /people [NAME]  /words  /forget WORD  "
    "/explain model|evidence  /reset  /help  /quit",
))


def _results_table(results: list[SearchResult], first: int = 1, reasons: dict[int, str] | None = None) -> "Table":
    """Rows numbered from `first`; `reasons`: what to show as each one's why (default its explanation)."""
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", expand=True, show_lines=False)
    table.add_column("#", justify="right", width=3, no_wrap=True)
    table.add_column("match", width=7, no_wrap=True)
    table.add_column("score", justify="right", width=7, no_wrap=True)
    table.add_column("photo", ratio=2, overflow="fold")
    table.add_column("why", ratio=3)
    for index, result in enumerate(results, start=first):
        path = Path(result.path)
        table.add_row(
            str(index),
            match_markup(result.match),
            f"{result.score:.4f}",
            f"{path.name}\n[dim]{path.parent}[/dim]",
            _escape((reasons or {}).get(result.id) or result.explanation or ""),
        )
    return table


def results_view(results: list[SearchResult], groups: list[ReasonGroup], start: int, count: int,
                 reworded: set[int] = frozenset()) -> "RenderableType":
    """One page of an answer's results (`count` from index `start`), numbered as the whole answer
    numbers them: each group's heading (its shared reason, said once), then its rows with what is
    left of their reasons; a reason the model reworded (`reworded`: result ids) shows whole."""
    from rich.console import Group
    from rich.text import Text

    page = results[start:start + count]
    if not groups:
        return _results_table(page, start + 1)
    position = {r.id: n for n, r in enumerate(results, 1)}
    parts: list = []
    for group in groups:
        rows = [r for r in page if r.id in set(group.ids)]
        if not rows:
            continue
        reasons = {i: text for i, text in group.reasons.items() if i not in reworded}
        parts.append(Text(group.heading, style="bold" if group.kind == "matches" else "yellow"))
        table = _results_table(rows, position[rows[0].id], reasons)
        parts.append(table)
    return Group(*parts)


class Repl:
    def __init__(self, library: "Library", console: "Console", session: Session | None = None,
                 opener: Callable[[str], None] | None = None, explain: str = "evidence"):
        self.library = library
        self.explain = explain  # Session EXPLAIN_MODES
        self.console = console
        self.session = session or Session(library)
        self.opener = opener or _open_with_system_viewer
        self._sheet_dir: Path | None = None
        self._shown = 0  # how many of the last answer's results the pages shown so far hold
        self._reworded: set[int] = set()  # results whose reason the model reworded (shown whole)

    # -- the loop -----------------------------------------------------------------------------------
    def run(self, lines: Iterable[str] | None = None) -> None:
        import threading

        # Load the model and its system prompt while the user types the first request.
        threading.Thread(target=self._warm_up, name="photoseek-warm-up", daemon=True).start()
        self.console.print(f"[bold]photoseek chat[/bold] — {self.library.path}")
        self.console.print(f"[dim]{HELP}[/dim]")
        for line in self._lines(lines):
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                if not self.command(line):
                    break
            else:
                self.turn(line)

    def _warm_up(self) -> None:
        try:
            self.session.warm_up()
        except PhotoseekError:
            pass  # the first turn reports it

    def _lines(self, lines: Iterable[str] | None) -> Iterator[str]:
        if lines is not None:
            for line in lines:
                self.console.print(f"[bold cyan]you>[/bold cyan] {line.rstrip()}")
                yield line
            return
        while True:
            try:
                yield self.console.input("[bold cyan]you>[/bold cyan] ")
            except (EOFError, KeyboardInterrupt):
                self.console.print()
                return

    # -- a turn ------------------------------------------------------------------------------------------
    def turn(self, message: str) -> None:
        from rich.live import Live

        console = self.console
        events = self.session.ask_stream(message, explain=self.explain)  # model sentences fill in after the table
        live: Live | None = None
        results: list[SearchResult] = []
        groups: list[ReasonGroup] = []
        page = self.session.k
        shown_before = self._shown
        self._reworded, self._shown = set(), 0

        def view():
            return results_view(results, groups, 0, page, self._reworded)

        try:
            with console.status("planning…", spinner="dots"):
                first = next(events)
            for event in _chain(first, events):
                if isinstance(event, PlanReady):
                    calls = "; ".join(f"{c.tool} {json.dumps(c.args, ensure_ascii=False)}" for c in event.plan.calls)
                    console.print(f"[dim]plan ({event.plan.source}): {calls}[/dim]")
                elif isinstance(event, ResultsReady):
                    results, groups = event.results, event.groups
                    if console.is_terminal:  # explanations fill in as the model streams them
                        live = Live(view(), console=console, refresh_per_second=8)
                        live.start()
                elif isinstance(event, ExplanationReady):
                    self._reworded.add(results[event.index].id)
                    if live is not None:
                        live.update(view())
                elif isinstance(event, AnswerReady) and event.answer.plan is None and not results:
                    # a teaching turn ("#3 is a giraffe"): it says what it did; the last results stay as shown
                    self._shown = shown_before
                    style = "red" if event.answer.error else "bold"
                    console.print(f"[{style}]{_escape(event.answer.text)}[/{style}]")
                elif isinstance(event, AnswerReady):
                    page = event.answer.page or page
                    groups = event.answer.groups or groups
                    if live is not None:
                        live.update(view())
                        live.stop()
                        live = None
                    elif results:
                        console.print(view())
                    self._shown = min(page, len(results))
                    self._print_answer(event.answer)
                    self._more_note(event.answer)
        except PhotoseekError as exc:  # e.g. the model could not load: say so, keep the session
            console.print(f"[red]{exc}[/red]")
        finally:
            if live is not None:
                live.stop()

    def _print_answer(self, answer) -> None:
        style = "red" if answer.error else "bold"
        self.console.print(f"[{style}]{_escape(answer.text)}[/{style}]")
        note = reworded_note(answer.reworded)
        if note:
            self.console.print(f"[dim]{_escape(note)}[/dim]")
        if answer.results and inline_image_protocol() and sys.stdout.isatty():
            self._sheet(answer.results[: answer.page or self.session.k], quiet=True)  # the page shown

    # -- commands --------------------------------------------------------------------------------------
    def command(self, line: str) -> bool:
        """Run a /command; False means quit."""
        name, _, argument = line[1:].partition(" ")
        name = name.lower()
        if name in ("quit", "exit", "q"):
            return False
        if name in ("help", "h", "?"):
            self.console.print(HELP)
        elif name == "reset":
            self.session.reset()
            self.console.print("[dim]Conversation cleared.[/dim]")
        elif name == "json":
            answer = self.session.last_answer
            if answer is None:
                self.console.print("[yellow]No answer yet.[/yellow]")
            else:
                self.console.print_json(json.dumps(answer.to_dict(), ensure_ascii=False))
        elif name == "more":
            self._more()
        elif name in ("why", "show", "open"):
            result = self._result(argument)
            if result is not None:
                self.session.focus = result.id  # "this one is a giraffe" now means this photo
                {"why": self._why, "show": self._show, "open": self._open}[name](result)
        elif name == "words":
            self._words()
        elif name == "forget":
            self._forget(argument.strip())
        elif name == "explain":
            mode = argument.strip().lower()
            if mode not in EXPLAIN_MODES:
                self.console.print(f"[yellow]Use /explain model or /explain evidence (now: {self.explain}).[/yellow]")
            else:
                self.explain = mode
                self.console.print(f"[dim]Reasons from now on: {'the model rewords the top five' if mode == 'model' else 'composed from the evidence'}.[/dim]")
        elif name == "people":
            self._people(argument.strip())
        elif name == "sheet":
            answer = self.session.last_answer
            if answer is None or not answer.results:
                self.console.print("[yellow]No results to put on a contact sheet yet.[/yellow]")
            else:
                self._sheet(answer.results[: max(self._shown, 1)], quiet=False)  # the pages shown so far
        else:
            self.console.print(f"[yellow]Unknown command /{name}.[/yellow] {HELP.splitlines()[-1]}")
        return True

    def _more(self) -> None:
        """The next page of the last answer's results."""
        answer = self.session.last_answer
        if answer is None or not answer.results:
            self.console.print("[yellow]No results yet: ask for some photos first.[/yellow]")
            return
        if self._shown >= len(answer.results):
            self.console.print(f"[dim]That was all: the last answer found {len(answer.results)} photos.[/dim]")
            return
        start, page = self._shown, answer.page or self.session.k
        self.console.print(results_view(answer.results, answer.groups, start, page, self._reworded))
        self._shown = min(start + page, len(answer.results))
        self._more_note(answer)

    def _more_note(self, answer) -> None:
        """'10 more (4 matches, 6 close): /more' under a page that does not show every result."""
        rest = answer.results[self._shown:]
        if not rest:
            return
        matches = sum(r.match == "strong" for r in rest)
        kinds = f" ({matches} match{'es' if matches != 1 else ''}, {len(rest) - matches} close)" if matches else " (close, not matches)"
        self.console.print(f"[dim]{len(rest)} more{kinds}: /more shows the next {min(len(rest), answer.page or self.session.k)}.[/dim]")

    def _result(self, argument: str) -> SearchResult | None:
        answer = self.session.last_answer
        results = answer.results if answer else []
        number = argument.strip().lstrip("#")
        if not number.isdigit():
            self.console.print("[yellow]Give a result number, e.g. /why 3[/yellow]")
            return None
        if not results or not 1 <= int(number) <= len(results):
            self.console.print(f"[yellow]There is no result #{number}"
                               + (f" (the last search showed #1 to #{len(results)})" if results else "") + ".[/yellow]")
            return None
        return results[int(number) - 1]

    def _why(self, result: SearchResult) -> None:
        """The reason, then the evidence behind it in words (/json has it as data)."""
        from rich.table import Table

        from photoseek.agent.explain import evidence_items, score_items

        self.console.print(f"[bold]{_escape(result.explanation or '')}[/bold]")
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        answer = self.session.last_answer
        names = answer.reference_names if answer is not None else {}
        for label, value in evidence_items(result, fence=False, names=names) + score_items(result.evidence):
            grid.add_row(label, _escape(value))
        self.console.print(grid)

    def _words(self) -> None:
        statuses = self.library.words()
        if not statuses:
            self.console.print('[dim]No taught words yet: say which photos show a word, e.g. "#3 is a giraffe".[/dim]')
        for status in statuses:
            self.console.print(status.sentence(), markup=False, highlight=False)

    def _forget(self, word: str) -> None:
        if not word:
            self.console.print("[yellow]Say which word, e.g. /forget giraffe[/yellow]")
            return
        try:
            status = self.library.forget(word)
        except PhotoseekError as exc:
            self.console.print(f"[yellow]{_escape(str(exc))}[/yellow]")
            return
        self.console.print(f'Forgot "{status.word}": its learned tag is gone from {status.removed} photo(s); '
                           f"your own {status.examples} stay.", markup=False, highlight=False)

    def _show(self, result: SearchResult) -> None:
        try:
            record = self.library.show(result.id)
        except PhotoseekError as exc:
            self.console.print(f"[red]{exc}[/red]")
            return
        self.console.print_json(json.dumps(record, ensure_ascii=False, default=str))

    def _open(self, result: SearchResult) -> None:
        self.opener(result.path)
        self.console.print(result.path, markup=False, highlight=False)

    def _people(self, who: str) -> None:
        """/people: the people in the library (as `photoseek people`); /people NAME (or id): how many
        faces and photos they have, and a contact sheet of their faces."""
        from photoseek.agent.people_view import people_hint, people_table

        people = self.library.people()
        if not who:
            listed = people.list()
            hint = people_hint(listed, self.library.face_recognition, show="/people ID")
            if listed:
                self.console.print(people_table(listed))
                hint = (hint + " " if hint else "") + 'Ask for them by name ("photos of Anna at the beach").'
            self.console.print(f"[dim]{_escape(hint)}[/dim]")
            return
        try:
            person = people.get(who)
            faces = people.faces_of(person.id, limit=48)
        except PhotoseekError as exc:
            self.console.print(f"[yellow]{_escape(str(exc))}[/yellow]")
            return
        self.console.print(f"[bold]{_escape(person.label)}[/bold]: {person.faces} faces in {person.photos} photos"
                           + (" (hidden)" if person.hidden else ""))
        if not faces:
            return
        from photoseek.agent.contact_sheet import make_face_sheet

        try:
            path = make_face_sheet(people, faces, self._next_sheet_path(f"person-{person.id}"))
        except (OSError, ValueError, PhotoseekError) as exc:
            self.console.print(f"[yellow]Could not make a contact sheet: {exc}[/yellow]")
            return
        if not show_inline(path):
            self.console.print(f"their faces: {path}", markup=False, highlight=False)

    def _next_sheet_path(self, stem: str) -> Path:
        if self._sheet_dir is None:
            self._sheet_dir = Path(tempfile.mkdtemp(prefix="photoseek-sheet-"))
        count = len(list(self._sheet_dir.glob("*.png")))
        return self._sheet_dir / f"{stem}-{count + 1}.png"

    def _sheet(self, results: list[SearchResult], *, quiet: bool) -> None:
        thumbnails = getattr(self.library, "thumbnail_path", None)
        try:
            path = make_contact_sheet(results, self._next_sheet_path("sheet"), thumbnail_path=thumbnails)
        except (OSError, ValueError, PhotoseekError) as exc:
            self.console.print(f"[yellow]Could not make a contact sheet: {exc}[/yellow]")
            return
        if not show_inline(path) or not quiet:
            self.console.print(f"contact sheet: {path}", markup=False, highlight=False)


def _chain(first, rest):
    yield first
    yield from rest


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _open_with_system_viewer(path: str) -> None:
    """xdg-open (Linux) / open (macOS) when present; otherwise the caller's printed path is the answer."""
    for viewer in ("xdg-open", "open"):
        executable = shutil.which(viewer)
        if executable:
            subprocess.Popen([executable, path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
            return


def run_repl(library: "Library", console: "Console | None" = None, *, session: Session | None = None,
             lines: Iterable[str] | None = None, opener: Callable[[str], None] | None = None) -> None:
    """The chat loop. `lines` (an iterable of input lines) replaces the keyboard, for scripts and tests."""
    from rich.console import Console

    Repl(library, console or Console(), session=session, opener=opener).run(lines)
