# The two Quick start commands: `make demo` and `make test`. Both set up .venv first (idempotent).
.PHONY: setup demo test bench test-openclip

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/photoseek demo

test: setup
	.venv/bin/python -m pytest -q tests

bench: setup
	.venv/bin/python bench/ingest.py && .venv/bin/python bench/search.py

# open_clip for real, in its own venv (.venv-openclip: torch 2.14.1 + torchvision 0.29.1, ~5.5 GB; built once).
test-openclip:
	bash scripts/setup_openclip.sh
	.venv-openclip/bin/python -m pytest -q -s tests/openclip
