# Two commands matter (README): `make run` and `make test`. Each sets up .venv first, once.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-sign bench-blind soak names vectors openapi screenshots

$(STAMP): pyproject.toml
	@echo "setting up $(VENV) (once, or when pyproject.toml changes): the service, its tools and"
	@echo "the test tools from the package index; about a minute"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[server,dev]'
	touch $(STAMP)
	@echo "$(VENV) is ready; put idcheck on your PATH with: export PATH=\"$$PWD/$(VENV)/bin:\$$PATH\""

# `make run PORT=8001 HOST=0.0.0.0` to serve elsewhere.
PORT ?= 8000
HOST ?= 127.0.0.1

run: $(STAMP)
	$(BIN)/idcheck serve --host $(HOST) --port $(PORT)

# PostgreSQL runs on this machine; `IDCHECK_TEST_POSTGRES_URL= make test` runs SQLite only.
IDCHECK_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export IDCHECK_TEST_POSTGRES_URL

test: $(STAMP)
	@echo "the whole suite, on SQLite and PostgreSQL: about 20 minutes on 2 cores"
	@echo "(IDCHECK_TEST_POSTGRES_URL= make test: SQLite only, about half that)"
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[server,dev,bench]'
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench --scale small

bench-sign: $(STAMP)
	$(BIN)/python -m bench sign --rows 1000000

bench-blind: $(STAMP)
	$(BIN)/python -m bench blind --rows 1000000 --no-close-forms

soak: $(STAMP)
	$(BIN)/python -m bench soak --seconds 120

# Names as people write them: each check kind on the labelled corpus (corpus/README.md).
names: $(STAMP)
	$(BIN)/python -m bench names

vectors: $(STAMP)
	$(BIN)/python -m scripts.make_signature_vectors

openapi: $(STAMP)
	$(BIN)/python -m scripts.make_openapi

# The console's pictures in docs/console/ (README shows them): the browser tests, saving each
# role's main page. Needs Debian's chromium and chromium-driver, as the tests do.
screenshots: $(STAMP)
	IDCHECK_CONSOLE_SCREENSHOTS=docs/console IDCHECK_TEST_POSTGRES_URL= $(BIN)/pytest -q -p no:cacheprovider tests/e2e/test_console_browser.py
