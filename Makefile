# A newcomer needs two commands: `make demo` and `make test`. Each sets itself up.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: install browser promtool wrk demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# The UI test drives Debian's chromium through playwright (never `playwright install`).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

# promtool (alert rule unit tests) comes from Debian's `prometheus` package; the server it
# ships is not needed and is stopped if the package started it.
promtool:
	@command -v promtool >/dev/null || { $(SUDO) apt-get update -q && \
		$(SUDO) apt-get install -y -q --no-install-recommends prometheus && \
		{ $(SUDO) service prometheus stop >/dev/null 2>&1 || true; }; }

demo: install
	$(BIN)/enhancer demo

lint: install
	$(BIN)/ruff check src tests bench alembic
	$(BIN)/ruff format --check src tests bench alembic
	$(BIN)/mypy src tests/fakes

test: lint browser promtool
	$(BIN)/pytest -q

# wrk drives the intake benchmark; Debian packages it.
wrk:
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q wrk; }

bench: install wrk
	$(BIN)/python -m bench.pipeline
	$(BIN)/python -m bench.throughput --mode embedded
	$(BIN)/python -m bench.throughput --mode celery
	$(BIN)/python -m bench.intake
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.itsm

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
