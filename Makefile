# A newcomer needs two commands: `make demo` and `make test`. Each sets itself up.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: install demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/enhancer demo

lint: install
	$(BIN)/ruff check src tests bench alembic
	$(BIN)/ruff format --check src tests bench alembic
	$(BIN)/mypy src tests/fakes

test: lint
	$(BIN)/pytest -q

bench: install
	$(BIN)/python -m bench.pipeline

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
