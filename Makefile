# The README's commands. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
# uv must not remove itself from the environment it manages, hence --inexact; the environment
# is byte-compiled at install because PYTHONDONTWRITEBYTECODE would otherwise make every
# process recompile its dependencies on start.
UV_SYNC := $(BIN)/uv sync --frozen --inexact --compile-bytecode --quiet
# The project's own packages too (about a tenth of a second per process start); a module
# edited since is compiled from its source, as Python checks each file's time.
APPS := portal tickets sla escalation evidence inbound history satisfaction

.DEFAULT_GOAL := help
.PHONY: help venv run test lint format bench migrate seed clean

help:  ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

venv: $(BIN)/uv  ## Create or update .venv from uv.lock
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV_SYNC)
	$(BIN)/python -m compileall -q -j 0 $(APPS)

.env:
	$(BIN)/python scripts/make_env.py > .env.tmp && mv .env.tmp .env

run: venv .env  ## Migrate, seed the demo data, and start web, worker and beat (Ctrl-C stops all)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	@echo "Starting web, worker and beat. Open http://127.0.0.1:8000/ with a login above; Ctrl-C stops all."
	@# Ctrl-C ends honcho with 130: the way to stop the demo, not a failure.
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile.dev || [ $$? -eq 130 ]

test: venv  ## Run the test suite (DATABASE_URL picks the database; SQLite by default)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv  ## ruff check and format check, mypy (django-stubs), and migrations in step with models
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run

format: venv  ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: venv  ## Run every benchmark in bench/ (needs DATABASE_URL on PostgreSQL)
	@for b in bench/[a-z]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:  ## Remove the environment, the local database and the embedded broker's folder
	rm -rf $(VENV) var
