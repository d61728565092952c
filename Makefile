# pynet: `make test` is THE test command (README and CI use it).
SHELL := /bin/bash
PY := .venv/bin/python
PYTEST := $(PY) -m pytest -q
PYTEST_ARGS ?=

.PHONY: deps lint test unit integration acceptance demo bench clean

deps:
	bash scripts/install-deps.sh

# ruff (pyflakes-level errors), import-linter (the layering of docs/design.md) and
# vulture (dead code; vulture_whitelist.py lists what is used dynamically or by tests).
lint: deps
	.venv/bin/ruff check pynet tests bench
	.venv/bin/ruff format --check pynet tests bench
	cd $(CURDIR) && .venv/bin/lint-imports
	.venv/bin/vulture pynet vulture_whitelist.py --min-confidence 60

test: deps
	$(PYTEST) $(PYTEST_ARGS) tests

unit: deps
	$(PYTEST) -m unit $(PYTEST_ARGS) tests

integration: deps
	$(PYTEST) -m integration $(PYTEST_ARGS) tests

acceptance: deps
	$(PYTEST) -m acceptance $(PYTEST_ARGS) tests

demo: deps
	bash scripts/demo.sh

bench: deps
	bash bench/run.sh

clean:
	rm -rf .venv .pytest_cache build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
