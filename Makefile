# One command each: `make run` starts the bot locally, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test cards install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

run: install
	$(BIN)/python -m bot

test: install
	$(BIN)/python -m pytest

# Render the main cards to PNG (needs Debian chromium and `npm ci --prefix tools/render`).
cards: install
	$(BIN)/python -m tools.render_examples docs/cards

clean:
	rm -rf $(VENV) .pytest_cache
