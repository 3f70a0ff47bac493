# One entry point for people and CI. Every target sets itself up from a fresh clone.
VENV     := .venv
PY       := $(VENV)/bin/python
PROFILE  ?= db
SERVERS  ?= 3
WORKERS  ?= 2
PORT     ?= 8000
BALANCE  ?= round_robin
DB       ?= sqlite
HOSTS    ?=
REDIS    ?= single
METRICS  ?=

.PHONY: setup system-deps run test check lint lab bench clean

$(VENV)/.installed: requirements.txt requirements-tools.txt requirements-dev.txt
	@python=$$(scripts/find-python) && echo "setup: using $$python ($$($$python --version))" && \
	  { [ -x $(PY) ] || $$python -m venv $(VENV); }
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

system-deps:
	@scripts/system-deps

setup: $(VENV)/.installed system-deps db.sqlite3.ready

# The database manage.py uses by default (db.sqlite3, whatever DATABASE_URL says): migrated, with
# the demo catalog and logins, so that `manage.py runserver` serves the shop after `make setup`.
# Redone only when the stamp is older than a migration or the venv, or the database is gone: the
# database itself changes on every request, so its own date says nothing.
MIGRATIONS := $(wildcard shop/*/migrations/0*.py)
DEV_DB_ENV := env -u DATABASE_URL DJANGO_SETTINGS_MODULE=config.settings.db
db.sqlite3.ready: $(VENV)/.installed $(MIGRATIONS) $(if $(wildcard db.sqlite3),,FORCE)
	$(DEV_DB_ENV) $(PY) manage.py migrate --noinput
	$(DEV_DB_ENV) $(PY) manage.py seed_catalog --if-empty
	$(DEV_DB_ENV) $(PY) manage.py demo_users
	@touch $@

FORCE:

# runstack migrates the database it runs on (SQLite or its throwaway PostgreSQL), then
# seeds the catalog when empty and creates the demo logins there.
run: setup
	$(PY) manage.py runstack --profile $(PROFILE) --servers $(SERVERS) --workers $(WORKERS) \
	  --port $(PORT) --balance $(BALANCE) --db $(DB) --redis $(REDIS) $(if $(HOSTS),--hosts) $(if $(METRICS),--metrics) \
	  --manage "seed_catalog --if-empty" --manage demo_users

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# pytest-xdist runs one worker per core, plus one: a stack test mostly waits on its servers. On two
# cores, 3 workers ran make test's pytest in 371 s against 473 s with 2 (one run each, idle machine;
# the load rose to 10 and every fault test passed). The tests of one stack stay in one worker
# (conftest.py).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadgroup

test: setup lint
	$(VENV)/bin/pytest $(PYTEST_PARALLEL)

# The inner loop (well under 90 s): lint, and every test that starts no server of the shop (no
# runserver, gunicorn or stack; a private redis-server takes milliseconds and stays in).
check: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest $(PYTEST_PARALLEL) -m "not stack and not browser and not server"

# The session lab's experiment matrix: every profile x scenario on real stacks (a few minutes),
# printed and written to results/ (latest.html is linked from /lab/). LAB_ARGS narrows it, e.g.
# LAB_ARGS="--profiles locmem,db --scenarios 1" or LAB_ARGS=--quick.
LAB_ARGS ?=
lab: setup
	$(PY) manage.py sessionlab $(LAB_ARGS)

# Every session profile through the real stack with wrk (about 20 minutes; the machine should
# be otherwise idle), then the tables in docs/BENCHMARKS.md. BENCH_ARGS=--quick for a check.
BENCH_ARGS ?= --write-docs
bench: setup
	$(PY) manage.py bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) run staticfiles test-artifacts .pytest_cache
