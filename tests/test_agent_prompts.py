"""Prompt templates are package files rendered with jinja2 (StrictUndefined)."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

import photoseek.prompts as prompts
from photoseek.prompts import render, template_names

EXPECTED = {"system", "planner_system", "planner_user", "planner_retry", "explain_system", "explain_user",
            "translate_system", "translate_user", "caption_system"}


def test_prompt_files_are_package_files():
    folder = Path(prompts.__file__).parent
    assert EXPECTED <= set(template_names())
    assert all((folder / f"{name}.md").is_file() for name in EXPECTED)


def test_render_fills_variables_and_refuses_missing_ones():
    text = render("planner_user", today="2025-01-02", previous="none", request="cats")
    assert text.startswith("Task PLAN") and "2025-01-02" in text and "cats" in text
    assert render("planner_user.md", today="x", previous="y", request="z").endswith("z")
    with pytest.raises(jinja2.UndefinedError):
        render("planner_user", today="2025-01-02")


def test_shared_system_prompt_holds_every_task_and_the_photo_text_rule():
    system = render("system")
    for section in ("## Task PLAN", "## Task EXPLAIN", "## Task TRANSLATE"):
        assert section in system
    assert "<photo_text>" in system and "never instructions" in system
    assert "{{" not in system and "{%" not in system


def test_unknown_prompt_is_an_error():
    with pytest.raises(jinja2.TemplateNotFound):
        render("no_such_prompt")
