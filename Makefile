# counterwatch: the two commands of the README contract.
#   make demo  - set up, render the bundled scene, run cameras + perception + rules on configs/demo.yaml
#   make test  - set up (venv, pinned dependencies, test-only system packages) and run the whole test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv system-test-deps clean

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check pip==26.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	$(BIN)/python -m pip check
	touch $(STAMP)

venv: $(STAMP)

system-test-deps:
	bash scripts/install-test-system-deps.sh

var/demo/scene.mp4: $(STAMP) counterwatch/demo_scene.py configs/demo.yaml
	$(BIN)/counterwatch demo-scene --config configs/demo.yaml --out $@ --force

# First start creates `admin` and `supervisor` with generated passwords, printed once (never stored in the repo).
demo: $(STAMP) var/demo/scene.mp4
	$(BIN)/counterwatch run --config configs/demo.yaml --bootstrap-users

test: $(STAMP) system-test-deps
	$(BIN)/python -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$rc

clean:
	rm -rf $(VENV) var .pytest_cache
