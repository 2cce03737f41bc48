# The README's commands: `make run` and `make test` (plus lint, messages, bench).
PYTHON ?= $(shell command -v python3.13 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format messages compilemessages bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 13), "PIM needs Python 3.13, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

compilemessages: $(STAMP)
	@$(BIN)/python bin/compilemessages.py >/dev/null

# Portal on the embedded defaults: SQLite + filesystem broker under var/, e-mail to the console.
run: export DEBUG = true
run: $(STAMP) compilemessages
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "  PIM runs on http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs/)"
	@echo "  Demo logins, password 'demo': acme.user, acme.contact (Acme Zorg), globex.user,"
	@echo "  globex.contact (Globex Logistics), agent, oncall, csm, opsmanager, director, admin"
	@echo
	@trap 'kill 0' INT TERM EXIT; \
	  $(BIN)/celery -A pim worker --beat --loglevel=WARNING --concurrency=1 & \
	  $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The whole suite. Embedded defaults unless DATABASE_URL / CELERY_BROKER_URL point elsewhere.
test: $(STAMP) compilemessages
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run >/dev/null
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l nl -l en --ignore=.venv --ignore=var
	$(BIN)/python bin/compilemessages.py

bench: $(STAMP)
	$(BIN)/python bench/businesstime.py

clean:
	rm -rf var .pytest_cache .ruff_cache
