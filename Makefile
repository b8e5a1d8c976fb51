# One command each: `make run` starts the bot locally, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run playground test lint cards install clean bench-peers

# Re-install only when the declared or locked dependencies change.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m bot

# npm tools the tests drive: the card renderer, Azurite (the Azure Storage emulator), the Agents
# Playground and the Agents Toolkit CLI (which checks m365agents*.yml and appPackage/ offline).
NODE_TOOLS := tools/render/node_modules/.installed tools/azurite/node_modules/.installed \
              tools/playground/node_modules/.installed tools/agents-toolkit/node_modules/.installed
tools/%/node_modules/.installed: tools/%/package.json tools/%/package-lock.json
	npm ci --prefix tools/$* --no-audit --no-fund --loglevel=error
	touch $@

# --ignore-scripts: keytar's native build (the CLI's credential store for an interactive sign-in)
# needs libsecret; the offline checks never sign in.
tools/agents-toolkit/node_modules/.installed: tools/agents-toolkit/package.json tools/agents-toolkit/package-lock.json
	npm ci --prefix tools/agents-toolkit --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# The bot and the Microsoft 365 Agents Playground, a Teams-like client on http://localhost:56150.
playground: install tools/playground/node_modules/.installed
	tools/playground/run.sh

# The tests, then the linters (ruff; mypy --strict on bot/, pyproject.toml): any failing fails `make test` and CI.
test: install $(NODE_TOOLS)
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory lint

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy bot/

# The benchmark's peers (other SDKs' echo bots) in their own virtualenvs under bench/.venvs/;
# `python -m bench` makes them on first use too.
bench-peers: install
	$(BIN)/python -m bench.peers

# Render the main cards to PNG (needs Debian chromium and `npm ci --prefix tools/render`).
cards: install tools/render/node_modules/.installed
	$(BIN)/python -m tools.render_examples docs/cards

clean:
	rm -rf $(VENV) .pytest_cache
