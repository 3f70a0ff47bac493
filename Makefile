# One entry point for people and CI. Every target sets itself up from a fresh clone.
VENV     := .venv
PY       := $(VENV)/bin/python
PROFILE  ?= db
SERVERS  ?= 3
WORKERS  ?= 2
PORT     ?= 8000
BALANCE  ?= round_robin
DB       ?= sqlite

.PHONY: setup system-deps run test lint lab bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@python=$$(scripts/find-python) && echo "setup: using $$python ($$($$python --version))" && \
	  { [ -x $(PY) ] || $$python -m venv $(VENV); }
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

system-deps:
	@scripts/system-deps

setup: $(VENV)/.installed system-deps

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_catalog --if-empty
	$(PY) manage.py demo_users
	$(PY) manage.py runstack --profile $(PROFILE) --servers $(SERVERS) --workers $(WORKERS) \
	  --port $(PORT) --balance $(BALANCE) --db $(DB)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

test: setup lint
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) run staticfiles test-artifacts .pytest_cache
