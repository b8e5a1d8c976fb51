# One command each: `make run` starts the bot locally, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test cards install clean

# Re-install only when the declared or locked dependencies change.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m bot

test: install
	$(BIN)/python -m pytest

# Render the main cards to PNG (needs Debian chromium and `npm ci --prefix tools/render`).
cards: install
	$(BIN)/python -m tools.render_examples docs/cards

clean:
	rm -rf $(VENV) .pytest_cache
