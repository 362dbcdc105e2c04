# txwatch: `make demo` runs the system, `make test` runs the tests.
# Every target installs what it needs first and skips what is already done.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: help venv deps jars stack-up stack-down stack-status lint format test unit demo bench chaos clean

help:
	@echo "make demo          set everything up and run the system on simulated traffic (Ctrl-C stops)"
	@echo "make test          set everything up, lint, and run every test"
	@echo "make bench         measure throughput, latency and memory on the local stack (minutes)"
	@echo "make chaos         crash, restart and cut off workers, broker and database mid-stream; check every user (~7 min)"
	@echo "make unit          only the tests that need no broker or database"
	@echo "make stack-up      start Kafka and PostgreSQL (stack-down, stack-status)"
	@echo "make lint          ruff check and format check (make format fixes)"
	@echo "make clean         stop the stack and delete its data, the venv and worker state"

$(INSTALLED): setup.cfg pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt -e '.[test]'
	@touch $@

venv: $(INSTALLED)

deps:
	@stack/install-deps.sh

jars:
	@stack/stack.sh fetch

stack-up: deps jars
	@stack/stack.sh up

stack-down:
	@stack/stack.sh down

stack-status:
	@stack/stack.sh status

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The integration tests start the stack themselves when it is not running,
# and stop again only what they started.
test: venv deps jars lint
	@mkdir -p var
	$(BIN)/pytest --basetemp=var/pytest

unit: venv
	@mkdir -p var
	$(BIN)/pytest --basetemp=var/pytest -m "not integration"

demo: venv stack-up
	@exec stack/demo.sh

bench: venv stack-up
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Stops and restarts the stack's broker and database on purpose: not beside `make test`.
chaos: venv stack-up
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

clean: stack-down
	rm -rf .stack $(VENV) var test-artifacts *.egg-info
