"""The README's "Use" section works as written: its commands are read from README.md itself (never a
copy), every `photoseek …` line is parsed by the real parser (`photoseek.cli.build_parser`), so a
renamed or removed flag fails here, and the commands run for real, in the README's order, against a
small library the section's own first `index` line builds from photos scikit-image ships.

The README's placeholders (the convention is stated in a comment under its "## Use" heading):
`~/photos.lib` is the library, `~/Pictures` the photo folder (a file named in it, e.g.
`~/Pictures/beach.jpg`, is made from one of the photos; one a `people` command names, from the photo
with a face), and photo ids (the values of arguments
whose metavar is ID, PATH_OR_ID or PHOTO) map, in their order of first appearance in the section,
to the test library's ids. Sections other engineers add are run the same way, with no change here.

What cannot run here, and why (`parsed_only`): `chat` is an interactive loop and `mcp` a stdio server
for agent hosts (tests/test_agent_repl.py and tests/test_web_mcp.py drive them); a command naming an
`ollama:` model needs an Ollama server; `--ray` needs a Ray cluster (tests/test_index_ray.py).
`serve` is started for real and stopped once its API answers. Every command runs with `--llm none`:
the embedded 1.5B model takes minutes a turn on this 2-core machine, and the planner then falls
back to a plain search (the agent tests cover the model with a scripted LLM). The Python block of
the section runs too, with the same placeholders and `Library(llm=None)`.
"""

from __future__ import annotations

import re
import shlex
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from photoseek import cli
from tests.conftest import REPO_ROOT
from tests.web_support import photoseek_serve

README = REPO_ROOT / "README.md"
LIBRARY, PICTURES = "~/photos.lib", "~/Pictures"
PHOTO_METAVARS = {"ID", "PATH_OR_ID", "PHOTO"}  # arguments that name a photo by id (or path)
# photos of the library the test builds: real photographs bundled in scikit-image's wheel
TEST_PHOTOS = ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png", "text.png")
FACE_PHOTO = "astronaut.png"  # public domain (NASA): the one test photo with a recognisable face


def parsed_only(argv: list[str]) -> str | None:
    """Why a README command can only be parsed here (None: it runs)."""
    command = _command(argv)
    if command == "chat":
        return "an interactive loop (tests/test_agent_repl.py)"
    if command == "mcp":
        return "a stdio server for agent hosts (tests/test_web_mcp.py)"
    if command == "eval":
        return "measures a labelled folder for minutes (docs/measuring.md)"
    if command == "demo":
        return "`make demo` runs it, into the default library"
    if any(a.startswith("ollama:") or a.startswith("--llm=ollama:") for a in argv):
        return "needs an Ollama server"
    if "--ray" in argv or any(a.startswith("--ray=") for a in argv):
        return "needs a Ray cluster (tests/test_index_ray.py)"
    return None


# -- reading the README ------------------------------------------------------------------------------
@dataclass
class ReadmeCommand:
    line: int  # in README.md, for the failure message
    text: str
    argv: list[str]  # after `photoseek`

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.text}"


def use_section() -> tuple[int, str]:
    """The first line number and the text of the README's "## Use" section (up to the next "## ")."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "## Use")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return start + 1, "\n".join(lines[start:end])


def code_blocks(language: str) -> list[tuple[int, str]]:
    """(first line number, text) of each ```language block of the Use section."""
    first, text = use_section()
    blocks = []
    for match in re.finditer(rf"^```{language}\n(.*?)^```", text, flags=re.M | re.S):
        blocks.append((first + text[: match.start()].count("\n") + 1, match.group(1)))
    return blocks


def readme_commands() -> list[ReadmeCommand]:
    commands = []
    for first, block in code_blocks("bash"):
        for offset, line in enumerate(block.splitlines()):
            words = shlex.split(line, comments=True)
            if words and words[0] == "photoseek":
                commands.append(ReadmeCommand(first + offset + 1, line.split("  #")[0].strip(), words[1:]))
    return commands


def _command(argv: list[str]) -> str | None:
    parser = cli.build_parser()
    names = set(_subparsers(parser))
    return next((a for a in argv if a in names), None)


def _subparsers(parser) -> dict:
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return action.choices


def parse(command: ReadmeCommand):
    """The real parser on the README's words (as `photoseek` itself prepares them); a usage error
    fails the test with the README line."""
    parser = cli.build_parser()
    try:
        return parser.parse_args(cli._tag_changes_as_positionals(list(command.argv)))
    except SystemExit as exit:
        pytest.fail(f"{command}\n  does not parse (exit {exit.code}): see the error above", pytrace=False)


def photo_dests(argv: list[str]) -> set[str]:
    """The argument names of this command that name a photo (by their metavar)."""
    sub = _subparsers(cli.build_parser()).get(_command(argv))
    return {a.dest for a in sub._actions if a.metavar in PHOTO_METAVARS} if sub else set()


# -- mapping the placeholders onto the test's own library -------------------------------------------
class Placeholders:
    def __init__(self, root: Path, commands: list[ReadmeCommand]):
        self.library = root / "photos.lib"
        self.pictures = root / "Pictures"
        self.readme_ids: list[int] = []  # in order of first appearance
        for command in commands:
            args = parse(command)
            for dest in sorted(photo_dests(command.argv)):
                for value in _values(getattr(args, dest, None)):
                    if str(value).isdigit() and int(value) not in self.readme_ids:
                        self.readme_ids.append(int(value))
        self.ids: dict[int, int] = {}

    def path(self, text: str) -> str:
        for placeholder, real in ((LIBRARY, self.library), (PICTURES, self.pictures)):
            if text == placeholder or text.startswith(placeholder + "/"):
                return str(real) + text[len(placeholder):]
        return text

    def photo(self, value):
        if str(value).isdigit():
            assert int(value) in self.ids, f"photo id {value}: the test library has only {len(self.ids)} photos"
            return type(value)(self.ids[int(value)])
        return self.path(value)

    def apply(self, args, argv: list[str]) -> None:
        """Rewrite the parsed arguments in place: photo ids, then every path."""
        for dest in photo_dests(argv):
            value = getattr(args, dest, None)
            if isinstance(value, list):
                setattr(args, dest, [self.photo(v) for v in value])
            elif value is not None:
                setattr(args, dest, self.photo(value))
        for dest, value in vars(args).items():
            if isinstance(value, str):
                setattr(args, dest, self.path(value))
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                setattr(args, dest, [self.path(v) for v in value])


def _values(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def make_pictures(folder: Path, commands: list[ReadmeCommand]) -> None:
    """The test photos, plus every file the README names under ~/Pictures (made from one of them)."""
    import skimage
    from PIL import Image

    source = Path(skimage.__file__).parent / "data"
    folder.mkdir(parents=True)
    for name in TEST_PHOTOS:
        (folder / name).write_bytes((source / name).read_bytes())
    named = {w[len(PICTURES) + 1:] for c in commands for w in c.argv if w.startswith(PICTURES + "/")}
    # a file a `people` command names is a photo of someone: made from the one test photo with a face
    of_people = {w[len(PICTURES) + 1:] for c in commands if _command(c.argv) == "people"
                 for w in c.argv if w.startswith(PICTURES + "/")}
    for i, name in enumerate(sorted(named)):
        made_from = FACE_PHOTO if name in of_people else TEST_PHOTOS[i % len(TEST_PHOTOS)]
        with Image.open(source / made_from) as image:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            image.convert("RGB").save(folder / name)


# -- the tests ---------------------------------------------------------------------------------------
def test_the_use_section_has_the_everyday_commands():
    commands = readme_commands()
    named = {_command(c.argv) for c in commands}
    # what a newcomer needs first; a section that lost them (or a README the parser no longer reads) fails
    assert {"index", "status", "search", "ask", "chat", "serve", "show", "tag", "errors"} <= named, named
    for command in commands:
        args = parse(command)
        assert "--library" not in command.argv or args.library == LIBRARY, f"{command}: name the library {LIBRARY}"


def test_every_readme_command_parses():
    for command in readme_commands():
        args = parse(command)
        assert callable(args.func), command


@pytest.mark.slow
def test_readme_commands_run_as_written(tmp_path, capsys, monkeypatch):
    """~25 s: indexing the photos and starting `serve` twice are most of it."""
    commands = readme_commands()
    places = Placeholders(tmp_path, commands)
    monkeypatch.setenv("PHOTOSEEK_PROGRESS", "0")
    monkeypatch.chdir(tmp_path)  # files a command writes to the working folder (a contact sheet) stay here
    # a line without --library uses the test's library, never the user's default one
    monkeypatch.setenv("PHOTOSEEK_LIBRARY", str(places.library))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    make_pictures(places.pictures, commands)
    ran, skipped = [], []
    for command in commands:
        why = parsed_only(command.argv)
        if why:
            skipped.append(f"{command.text}  ({why})")
            continue
        started = time.perf_counter()
        args = parse(command)
        if not places.ids and places.library.exists():
            places.ids = _ids_for(places.library, places.readme_ids)
        places.apply(args, command.argv)
        args.llm = "none"
        args.library = args.library or str(places.library)
        if args.command == "serve":
            _serve_and_stop(places, command)
        else:
            assert args.command == "index" or places.library.exists(), f"{command}: the section must index first"
            code = args.func(args)
            out = capsys.readouterr()
            assert code == 0, f"{command}\n  exited {code}: {out.err}"
        ran.append(f"{command.text}  ({time.perf_counter() - started:.1f} s)")
    print("\nran:\n  " + "\n  ".join(ran) + "\nparsed only:\n  " + "\n  ".join(skipped))
    assert len(ran) >= 10, ran


def test_readme_python_runs_as_written(tmp_path, monkeypatch, capsys):
    from photoseek.library import Library

    blocks = code_blocks("python")
    assert blocks, "the Use section has a Python example"
    commands = readme_commands()
    places = Placeholders(tmp_path, [])
    make_pictures(places.pictures, commands)
    # the same placeholders; no LLM (see the module docstring)
    monkeypatch.setitem(Library.__init__.__kwdefaults__, "llm", None)
    for first, code in blocks:
        for placeholder, real in ((LIBRARY, places.library), (PICTURES, places.pictures)):
            code = code.replace(f'"{placeholder}"', repr(str(real)))
        exec(compile(code, f"README.md:{first}", "exec"), {})
    assert places.library.exists() and capsys.readouterr().out.strip()


def _ids_for(library: Path, readme_ids: list[int]) -> dict[int, int]:
    from photoseek import Library

    with Library(library, llm=None) as lib:
        ids = [row[0] for row in lib.catalog.conn.execute("SELECT id FROM photos ORDER BY id")]
    assert len(ids) >= len(readme_ids), f"the README names {len(readme_ids)} photo ids; the test library has {len(ids)}"
    return dict(zip(readme_ids, ids))


def _serve_and_stop(places: Placeholders, command: ReadmeCommand) -> None:
    """`photoseek serve` as written (with --llm none and a free port), stopped with Ctrl-C once
    /api/status answers."""
    argv = ["--llm", "none", *(places.path(a) for a in command.argv)]
    try:
        with photoseek_serve(argv) as (_, server):
            pass
    except (RuntimeError, TimeoutError) as error:
        pytest.fail(f"{command}\n  {error}", pytrace=False)
    assert server.returncode in (0, -signal.SIGINT, 130), f"{command}\n  stopped with {server.returncode}"
