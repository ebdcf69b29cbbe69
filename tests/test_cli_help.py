"""`photoseek --help` and each command's help say in one line what it does, and the main commands
show an example that the real parser accepts (so a renamed flag cannot linger in a help text)."""

from __future__ import annotations

import contextlib
import io
import shlex

import pytest

from photoseek import cli

MAIN_COMMANDS = ("index", "search", "ask", "chat", "serve")


def help_text(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit:
        cli.main([*argv, "--help"])
    assert exit.value.code == 0
    return out.getvalue()


def subcommands() -> dict:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return {c.dest: c.help for c in action._choices_actions}


def examples(text: str) -> list[str]:
    lines = text.splitlines()
    return [line.strip() for line in lines[lines.index("example:") + 1:] if line.strip().startswith("photoseek")] \
        if "example:" in lines else []


def test_every_command_says_in_one_line_what_it_does():
    text = help_text()
    for name, summary in subcommands().items():
        assert summary and len(summary) <= 55, f"{name}: {summary!r} (one line in an 80-column --help)"
        # the listing shows it on one line: the name, then the whole summary
        assert any(line.split() == [name, *summary.split()] for line in text.splitlines()), (name, summary)


@pytest.mark.parametrize("command", MAIN_COMMANDS)
def test_main_commands_show_an_example_that_parses(command):
    shown = examples(help_text(command))
    assert shown, f"photoseek {command} --help shows no example"
    for example in shown:
        argv = shlex.split(example)[1:]
        args = cli.build_parser().parse_args(cli._tag_changes_as_positionals(argv))
        assert args.command == command, example


def test_main_help_shows_examples_that_parse():
    lines = help_text().splitlines()
    shown = [line.strip() for line in lines[lines.index("examples:") + 1:] if line.strip().startswith("photoseek ")]
    assert len(shown) >= 2
    for example in shown:
        cli.build_parser().parse_args(shlex.split(example)[1:])


def test_the_shared_options_work_after_the_command_too():
    parser = cli.build_parser()
    assert parser.parse_args(["search", "dog", "--library", "B"]).library == "B"
    before = parser.parse_args(["--library", "A", "--llm", "none", "search", "dog"])
    assert (before.library, before.llm) == ("A", "none")  # not overwritten by the command's unset copy
    tag = parser.parse_args(cli._tag_changes_as_positionals(["tag", "12", "-cat", "--library", "C", "+dog"]))
    assert (tag.library, tag.changes) == ("C", ["-cat", "+dog"])
    assert parser.parse_args(["people", "name", "3", "Anna", "--library", "D"]).library == "D"  # an action's too


@pytest.mark.parametrize("argv, said", [
    (["serch", "dog"], "did you mean 'search'?"),
    (["search", "dog", "--tagg", "beach"], "usage: photoseek search"),  # the command's own usage
    (["search", "dog", "--tagg", "beach"], "(did you mean --tag?)"),
])
def test_a_mistyped_command_or_option_gets_a_suggestion(argv, said):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit:
        cli.main(argv)
    assert exit.value.code == 2 and said in err.getvalue()
