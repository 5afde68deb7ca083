# Whistle: `make run` serves on http://127.0.0.1:8000 (SQLite); `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PICCOLO_CONF := whistle.piccolo_conf

.PHONY: run test lint format bench messages clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Development run: keys are created on first use with a passphrase kept in data/ (change it
# and move keys/office_recovery.key offline for production; see README).
RELEASE_MINUTES ?= 1
# Argon2id's 64 MiB per derivation in transparent huge pages (glibc 2.35+; docs/DEPLOYMENT.md).
HUGE_PAGES := glibc.malloc.hugetlb=1

run: $(STAMP)
	@mkdir -p data && chmod 700 data
	@test -f data/dev-passphrase || (umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(24))" > data/dev-passphrase)
	$(BIN)/whistle init --passphrase-file data/dev-passphrase
	$(BIN)/whistle migrate
	@# The worker (release of new reports, signed audit checkpoints) runs beside the server and
	@# stops with it. New reports reach the inbox after RELEASE_MINUTES (an hour in production).
	GLIBC_TUNABLES=$(HUGE_PAGES) WHISTLE_DEVELOPMENT=true WHISTLE_RELEASE_MINUTES=$(RELEASE_MINUTES) $(BIN)/whistle worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	GLIBC_TUNABLES=$(HUGE_PAGES) WHISTLE_DEVELOPMENT=true WHISTLE_RELEASE_MINUTES=$(RELEASE_MINUTES) $(BIN)/whistle serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Each benchmark prints its own figures; the last step gathers the headline ones beside their
# goals into one table (the README's, with the date and machine). Sizes are trimmed so the whole
# run stays within fifteen minutes on 2 cores; each benchmark's --help shows the full-size flags.
BENCH_RESULTS ?= bench-results.jsonl
# The servers run as in production, and the bare derivations they are measured against alike.
bench: export GLIBC_TUNABLES = $(HUGE_PAGES)
bench: $(STAMP)
	WHISTLE_BENCH_RESULTS=$(BENCH_RESULTS) $(BIN)/python -m bench.results --start
	WHISTLE_BENCH_RESULTS=$(BENCH_RESULTS) $(BIN)/python -m bench.mixed
	WHISTLE_BENCH_RESULTS=$(BENCH_RESULTS) $(BIN)/python -m bench.memory
	WHISTLE_BENCH_RESULTS=$(BENCH_RESULTS) $(BIN)/python -m bench.uploads
	WHISTLE_BENCH_RESULTS=$(BENCH_RESULTS) $(BIN)/python -m bench.intake
	WHISTLE_BENCH_RESULTS=$(BENCH_RESULTS) $(BIN)/python -m bench.inbox
	WHISTLE_BENCH_RESULTS=$(BENCH_RESULTS) $(BIN)/python -m bench.audit_verify --entries 300000
	WHISTLE_BENCH_RESULTS=$(BENCH_RESULTS) $(BIN)/python -m bench.login --rounds 9 --duration 30
	WHISTLE_BENCH_RESULTS=$(BENCH_RESULTS) $(BIN)/python -m bench.transparency
	WHISTLE_BENCH_RESULTS=$(BENCH_RESULTS) $(BIN)/python -m bench.public_pages
	WHISTLE_BENCH_RESULTS=$(BENCH_RESULTS) $(BIN)/python -m bench.mail
	WHISTLE_BENCH_RESULTS=$(BENCH_RESULTS) $(BIN)/python -m bench.results

# Interface text: re-extract the Indonesian message ids, then bring the English catalog up to
# date (new ids arrive untranslated; the i18n test names them until they are translated).
POT := whistle/locale/messages.pot
EN_PO := whistle/locale/en/LC_MESSAGES/messages.po
messages: $(STAMP)
	$(BIN)/pybabel extract -F whistle/locale/babel.cfg -k N_ -k gettext -k _ --no-location --sort-output -o $(POT) .
	if [ -f $(EN_PO) ]; then \
		$(BIN)/pybabel update -i $(POT) -l en -D messages -d whistle/locale --no-fuzzy-matching --ignore-obsolete; \
	else \
		$(BIN)/pybabel init -i $(POT) -l en -D messages -d whistle/locale; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
