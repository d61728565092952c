# pynet: `make test` is THE test command (README and CI use it).
SHELL := /bin/bash
PY := .venv/bin/python
PYTEST := $(PY) -m pytest -q
PYTEST_ARGS ?=

.PHONY: deps lint test unit integration acceptance demo bench clean

deps:
	bash scripts/install-deps.sh

# ruff (pyflakes-level errors) and import-linter (the layering of docs/design.md).
lint: deps
	.venv/bin/ruff check pynet tests bench
	cd $(CURDIR) && .venv/bin/lint-imports

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
