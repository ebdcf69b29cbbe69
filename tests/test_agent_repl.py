"""`photoseek chat` driven by a scripted input stream, on a small real library (ScriptedLLM model)."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

from PIL import Image
from rich.console import Console

from photoseek.agent.contact_sheet import inline_image_escape, inline_image_protocol, make_contact_sheet
from photoseek.agent.repl import run_repl
from photoseek.agent.session import Session
from tests.agent_support import ScriptedLLM, plans_by_request


def drive(agent_library, lines, plans):
    llm = ScriptedLLM(default=plans_by_request(plans))
    out = io.StringIO()
    console = Console(file=out, width=140, force_terminal=False, color_system=None)
    opened: list[str] = []
    session = Session(agent_library, llm, today=date(2025, 11, 23), k=5)
    run_repl(agent_library, console, session=session, lines=lines, opener=opened.append)
    return out.getvalue(), opened, session


def test_a_scripted_chat(agent_library):
    text, opened, session = drive(
        agent_library,
        ["/explain model", "猫的照片", "/why 1", "/show 1", "/open 2", "/json", "/sheet", "/why 99", "/reset", "/why 1",
         "/bogus", "/explain poetry", "/quit", "never read"],
        {"猫的照片": {"tool": "text_search", "query": "cat"}},
    )
    assert "Reasons from now on: the model rewords the top five." in text
    assert re.search(r"The model reworded \d+ of the reasons|The model's wording added nothing", text)
    assert "Use /explain model or /explain evidence (now: model)." in text
    answer_first = text.split("/why 1")[0]
    assert "plan (model): text_search" in answer_first and '"query": "cat"' in answer_first
    # the model's, in the table (a partial or weak match's sentence gets its level in front)
    assert re.search(r"(?:Its|match: its) picture content is close to the search", answer_first)
    assert re.search(r'Found \d+ photos? for "cat"|No photo shows "cat"', answer_first)
    assert "match" in answer_first and ("strong" in answer_first or "weak" in answer_first or "partial" in answer_first)

    assert opened and Path(opened[0]).name in text  # /open 2 printed the path and called the viewer
    assert '"evidence"' not in answer_first
    why = text.split("/why 1")[1].split("/show 1")[0]  # the evidence in words, not JSON
    assert re.search(r"match\s+(strong|partial|weak)", why) and re.search(r"found by\s+its picture content", why)
    assert "{" not in why
    assert '"ocr_text"' in text and '"tags"' in text  # /show prints the record
    assert '"plan"' in text and '"answer"' in text  # /json
    sheet = re.search(r"contact sheet: (\S+\.png)", text)
    assert sheet and Image.open(sheet.group(1)).size[0] > 0
    # the answer holds every photo the search found (the first page shows 5, /more the rest)
    shown = re.search(r"There is no result #99 \(the last search showed #1 to #(\d+)\)", text)
    assert shown and int(shown.group(1)) > 5
    assert "Conversation cleared." in text and "There is no result #1." in text
    assert "Unknown command /bogus" in text
    assert "never read" not in text.split("/quit")[-1]
    assert session.memory == []  # /reset cleared it


def test_a_long_answer_shows_a_page_then_more_on_demand_with_shared_reasons_said_once(agent_library):
    """A first page of 3, "N more: /more", the next page numbered on from #4; the reason every close
    photo shares is said once above them, not in every row."""
    out = io.StringIO()
    console = Console(file=out, width=160, force_terminal=False, color_system=None)
    session = Session(agent_library, None, today=date(2025, 11, 23), k=3)
    run_repl(agent_library, console, session=session, lines=["a giraffe", "/more", "/more", "/more", "/more", "/more"])
    text = out.getvalue()
    answer = session.last_answer
    total = len(answer.results)
    assert total > 6 and answer.page == 3
    first, _, later = text.partition("you> /more")
    assert re.search(rf"{total - 3} more \(close, not matches\): /more shows the next 3\.", first)
    rows = lambda part: [int(n) for n in re.findall(r"^│\s+(\d+) │", part, re.MULTILINE)]
    assert rows(first) == [1, 2, 3] and rows(later.split("you> /more")[0]) == [4, 5, 6]
    assert f"That was all: the last answer found {total} photos." in text
    # nothing here can name a giraffe: said once per page, above the rows, with the way to teach it
    heading = 'Close, not matches: photoseek cannot recognise "giraffe" by itself (no tag it gives names it)'
    assert first.count(heading) == 1 and first.lower().count("photoseek cannot recognise") == 2  # + the answer
    assert 'No photo shows "giraffe"' in first and '"#1 is a giraffe" in chat' in first


def test_chat_reasons_come_from_the_evidence_by_default(agent_library):
    from photoseek.agent.explain import LEVEL_OPENINGS

    text, _, session = drive(agent_library, ["猫的照片", "/quit"], {"猫的照片": {"tool": "text_search", "query": "cat"}})
    answer = session.last_answer
    assert answer.results and session.llm.tasks() == ["PLAN"]  # no model call for the reasons: the prompt is back at once
    assert all(r.explanation.startswith(LEVEL_OPENINGS[r.match]) for r in answer.results)
    assert not re.search(r"(?:Its|match: its) picture content is close to the search, photo", text)


def test_contact_sheet_numbers_every_result(agent_library, tmp_path):
    results = agent_library.search("dog", k=7)
    path = make_contact_sheet(results, tmp_path / "sheet.png", thumb=64, columns=4)
    with Image.open(path) as sheet:
        assert sheet.size == (4 * 72, 2 * (64 + 34 + 8))


def test_inline_images_only_where_the_terminal_can():
    assert inline_image_protocol({"TERM": "xterm-256color"}) is None
    assert inline_image_protocol({"KITTY_WINDOW_ID": "1"}) == "kitty"
    assert inline_image_protocol({"TERM_PROGRAM": "iTerm.app"}) == "iterm"
    png = b"\x89PNG" + b"x" * 5000
    kitty = inline_image_escape(png, "kitty")
    assert kitty.startswith("\x1b_Ga=T,f=100,m=1;") and kitty.endswith("\x1b\\") and kitty.count("\x1b_G") == 2
    assert inline_image_escape(png, "iterm").startswith("\x1b]1337;File=inline=1;size=5004")
