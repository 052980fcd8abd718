# The two commands a fresh clone needs: `make demo` and `make test`.
# Each builds .venv from nothing but Python 3.11 and installs what it needs.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench lint serve browser clean

demo: $(VENV)/.installed
	$(BIN)/nextstep demo --google-sandbox

serve: $(VENV)/.installed
	$(BIN)/nextstep serve

test: $(VENV)/.installed-test browser
	$(BIN)/pytest

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

# Browser tests drive Debian's Chromium (never `playwright install`: it downloads a browser).
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "chromium is missing: run 'sudo apt-get install chromium' for the browser tests"; fi

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis
