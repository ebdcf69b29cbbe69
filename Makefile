# The two Quick start commands: `make demo` and `make test`. Both set up .venv first (idempotent).
.PHONY: setup demo test bench

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/photoseek demo

test: setup
	.venv/bin/python -m pytest -q tests

bench: setup
	.venv/bin/python bench/ingest.py && .venv/bin/python bench/search.py
