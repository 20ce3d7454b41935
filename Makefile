# The two set-up commands are `make up` and `make test`; the logic lives in tools/ and .ci/.
VENV := .venv/bin

.PHONY: up test lint bench deps

up:  ## install if needed, then run the all-in-one cloud in the foreground
	python3 tools/up.py

deps:  ## the venv with the project and its test extras
	python3 tools/up.py --install-only --extras test

# One worker per core, a test file per worker: the suite waits on databases, brokers and
# subprocesses far more than it computes. PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= auto

test: deps  ## the whole suite; PYTEST_ARGS="-m 'not e2e'" to narrow it
	$(VENV)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: deps
	$(VENV)/ruff check .
	$(VENV)/mypy --strict nimbus
	$(VENV)/lint-imports

bench: deps  ## against a running cloud (NIMBUS_PORT, NIMBUS_STATE_DIR); BENCH_ARGS to tune
	for script in bench/*.py; do $(VENV)/python $$script $(BENCH_ARGS) || exit 1; done
