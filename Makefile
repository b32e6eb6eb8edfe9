# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench lock clean-db venv audit

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py runtown --host $(HOST) --port $(PORT)

# Two workers (pytest-xdist): a module's tests run on one worker, the browser tests on one
# (tests/conftest.py); TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 2
test: $(STAMP) lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Known vulnerabilities in the locked packages (PyPI's advisory data; needs the network).
audit: $(STAMP)
	$(BIN)/pip-audit -r requirements.lock --no-deps --disable-pip --progress-spinner off

bench: $(STAMP)
	@for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Re-resolve the lock file from pyproject.toml (needs the package index).
lock:
	rm -rf /tmp/town-lock-venv && $(PY) -m venv /tmp/town-lock-venv
	/tmp/town-lock-venv/bin/pip install -q ".[dev]"
	/tmp/town-lock-venv/bin/pip freeze --exclude-editable | grep -v '^aitown' > requirements.lock

# Stop nothing, delete the embedded database (all local town data).
clean-db:
	rm -rf var/pgdata
