# The two commands: `make run` and `make test`. Everything they need is installed from pinned versions.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The slowest tests of each run are listed at its end: where the suite's time goes (CI aims under 15 minutes for
# both runs). Each run spreads its test files over xdist workers, each with a server of its own; a file stays on one
# worker, so a module's fixtures (a browser, a server of its own) and the guide's file order hold. Files are handed
# out in collection order, which tests/conftest.py makes longest module first (LONGEST_FIRST), so that no long module
# starts last and runs alone at the end: xdist's default, most tests first, would start the fuzzer (one long test a
# file) last.
PYTEST_ARGS ?= --durations=25
WORKERS ?= 3
XDIST_ARGS ?= -n $(WORKERS) --dist loadfile --no-loadscope-reorder
ASSETS := server/web/static/vendor/htmx.min.js server/web/static/vendor/vis-timeline-graph2d.min.js

.PHONY: run test test-sqlite test-postgres bench install assets migration clean

$(INSTALLED): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c requirements.lock -e ".[test]"
	touch $@

install: $(INSTALLED)
	./scripts/ensure-fonts.sh

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

$(ASSETS): node_modules/.package-lock.json pwa/build.mjs schemas/scan_vectors.json $(shell find pwa/src -type f)
	npm run --silent build

assets: $(ASSETS)

run: install assets
	$(BIN)/floorsync run

# Both runs, whatever the first one's outcome; fails when either failed, and says how long the whole took.
test: install assets
	./scripts/ensure-chromium.sh
	@start=$$(date +%s); status=0; \
	$(MAKE) --no-print-directory test-sqlite || status=1; \
	$(MAKE) --no-print-directory test-postgres || status=1; \
	elapsed=$$(( $$(date +%s) - start )); \
	echo "== make test: SQLite and PostgreSQL runs took $$((elapsed / 60)) min $$((elapsed % 60)) s in all ($$( [ $$status = 0 ] && echo passed || echo FAILED )) =="; \
	exit $$status

test-sqlite: install assets
	@echo "== tests on SQLite with the in-process broker =="
	FLOORSYNC_TEST_BACKEND=sqlite $(BIN)/pytest $(XDIST_ARGS) $(PYTEST_ARGS)

test-postgres: install assets
	@echo "== tests on PostgreSQL with Redis =="
	./scripts/ensure-services.sh
	FLOORSYNC_TEST_BACKEND=postgres $(BIN)/pytest $(XDIST_ARGS) $(PYTEST_ARGS)

bench: install assets
	./scripts/ensure-services.sh
	$(BIN)/python -m bench

# make migration APP=masterdata  — writes a new Piccolo auto-migration for that app
migration: install
	PICCOLO_CONF=server.piccolo_conf $(BIN)/piccolo migrations new $(APP) --auto

clean:
	rm -rf $(VENV) node_modules pwa/dist server/web/static/vendor
