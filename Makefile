# implicit-bias: two set-up commands for a fresh machine (Python 3.11+):
#   make demo   install, then run every check (quick profile) and write the figures
#   make test   install, then run the test suite
# Targets bootstrap .venv themselves when it is missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-test
BSTAMP := $(VENV)/.installed-bench
OUT    ?= ibias-results

.PHONY: install system-deps demo test test-slow bench clean experiments-index

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the report's headless-browser test (Playwright drives /usr/bin/chromium;
# never `playwright install`, which downloads its own browser). Installed only when missing.
SUDO := $(shell [ $$(id -u) -eq 0 ] || echo sudo)

system-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Debian's chromium and chromium-driver"; \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver; \
	fi

demo: $(STAMP) system-deps
	@status=0; $(BIN)/ibias verify --profile quick --out $(OUT) || status=$$?; \
	$(BIN)/ibias report --results $(OUT) --out $(OUT)/report.html; \
	exit $$status

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -n auto --dist loadgroup --durations=40

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

$(BSTAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	@touch $(BSTAMP)

bench: $(BSTAMP)
	$(BIN)/python benchmarks/run.py

# The static index of the experiments that `ibias list` prints without importing them
# (src/implicit_bias/experiments/_index.json); run after adding, removing or renaming one.
experiments-index: $(STAMP)
	$(BIN)/python -c "from implicit_bias.experiments import runner; print(runner.write_index())"

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
