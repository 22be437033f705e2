# NPL Recovery. `make run` serves the demo; `make test` runs the tests; `make bench` the benchmarks.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Benchmarks need PostgreSQL: figures on SQLite mean nothing for production.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/npl_bench

.PHONY: install run test bench lint fmt messages screenshots clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

install: $(BIN)/.installed

# The demo runs with DEBUG on (settings default it off).
run: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo
	DEBUG=1 PORT=$(PORT) BIN=$(BIN) ./scripts/run.sh

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	DATABASE_URL=$(BENCH_DATABASE_URL) DATABASE_POOL=0 $(BIN)/python bench/run.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The zh-hans catalogue: collect every marked string, keep the translations, compile.
MESSAGES_IGNORE := --ignore=.venv --ignore=var --ignore=bench --ignore=tests --ignore=staticfiles --ignore=node_modules
messages: install
	DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete $(MESSAGES_IGNORE)
	DEBUG=1 $(BIN)/python manage.py compilemessages -l zh_Hans $(MESSAGES_IGNORE)

clean:
	rm -rf $(VENV) var staticfiles
