# recording_toolkit: the two commands a new user needs are `make demo` and `make test`.
# Everything they need (a virtual environment, packages, a browser for the UI test) is set up here.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest

.PHONY: install demo dashboard test test-fast lab bench soak browser lint clean help

help:
	@echo "make demo   - run the whole workflow on a local sandbox and write reports/demo/"
	@echo "make test   - lint and type-check, then every test, notebooks and the browser test included"
	@echo "make lab    - open JupyterLab on notebooks/"
	@echo "make dashboard - serve the Dashboard of the sample logs in data/ (a web page, no code)"
	@echo "make bench  - run the benchmarks and write benchmarks/RESULTS.md"
	@echo "make soak   - the long end-to-end fault soak"
	@echo "make install - create $(VENV) and install the project with all extras"

# Re-installs only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/recording-toolkit demo

# The browser for the JupyterLab UI test (Debian's chromium; never a downloaded build).
browser:
	@bash scripts/ensure-browser

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(PYTEST) -p no:cacheprovider --durations=12 --doctest-modules recording_toolkit tests
	@# The notebooks' logs and journals go to a folder of this run, removed afterwards.
	work=$$(mktemp -d) && RECORDING_TOOLKIT_DATA_DIR=$$work $(PYTEST) -p no:cacheprovider \
		--nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg notebooks; \
		status=$$?; rm -rf "$$work"; exit $$status

test-fast: $(STAMP)
	$(PYTEST) -p no:cacheprovider -m "not browser and not slow" --doctest-modules recording_toolkit tests

# The Dashboard of the sample logs as a web page on 127.0.0.1 (DASHBOARD_ARGS, e.g. "--port 0").
dashboard: $(STAMP)
	$(BIN)/recording-toolkit dashboard data/callbacks --journal data/journal.jsonl \
		--teams data/teams.toml $(DASHBOARD_ARGS)

# Loopback only; as root (containers, CI) JupyterLab refuses to start without --allow-root.
lab: $(STAMP)
	$(BIN)/jupyter lab --ip=127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root) notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

# SOAK_ARGS, e.g. "--count 1000 --seed 3"; BENCH_ARGS, e.g. "--quick" or "--only receiver"
soak: $(STAMP)
	$(BIN)/python tools/soak/soak.py $(SOAK_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) reports build *.egg-info .pytest_cache
