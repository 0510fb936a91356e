# synack: `make demo` and `make test` work on a fresh machine; each creates .venv when missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev
# the versions last tested (pyproject.toml declares the compatible ranges)
PIP_INSTALL := $(PY) -m pip install --quiet -c constraints.txt

# What `make check` lints (ruff) and type-checks (mypy): everything. mypy takes each test folder
# on its own (each has its own conftest.py and helper modules, as pytest sees them).
LINTED := src tests benchmarks
TYPED  := src $(wildcard tests/*.py)
TYPED_TEST_DIRS := $(sort $(dir $(wildcard tests/*/conftest.py tests/*/test_*.py)))
# The fast tests `make check` runs (well under a minute): the socket facade, asyncio on the
# simulator, transports, the architecture's rules, the RFC figures and the golden mechanism.
FAST_TESTS := tests/api tests/test_layering.py tests/test_rfc_figures.py tests/test_golden_mechanism.py
# The golden tests (tests/golden.py): rewritten only by `make golden`.
GOLDEN_TESTS := tests/scenarios/test_golden_ladders.py tests/trace/test_ladder.py tests/drill/test_conformance.py

# `make test` spreads test files over this many processes (at most 4); JOBS=1 runs them in one.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)

.PHONY: demo test check golden bench venv clean apt

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PY) pyproject.toml constraints.txt
	$(PIP_INSTALL) -e .
	touch $@

$(STAMP): $(VENV)/.installed
	$(PIP_INSTALL) -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) -m synack demo

apt:
	@bash .ci/install-apt

test: $(STAMP) apt
	$(PY) -m pytest $(if $(filter-out 1,$(JOBS)),-n $(JOBS) --dist loadfile)

check: $(STAMP)
	$(PY) -m ruff check $(LINTED)
	$(PY) -m mypy $(TYPED)
	@for d in $(TYPED_TEST_DIRS); do echo "mypy $$d"; $(PY) -m mypy $$d || exit 1; done
	$(PY) -m pytest -m "not slow" $(FAST_TESTS)

golden: $(STAMP)
	-SYNACK_REGEN_GOLDEN=make-golden $(PY) -m pytest -q --tb=no --no-header -rN $(GOLDEN_TESTS)
	$(PY) -m pytest -q $(GOLDEN_TESTS)
	@git --no-pager diff --stat -- tests/scenarios/golden tests/trace/golden docs/conformance.md

bench: $(VENV)/.installed
	$(PY) benchmarks/run.py
	$(PY) benchmarks/synflood.py
	$(PIP_INSTALL) -e '.[cluster]' && $(PY) benchmarks/sweep.py
	$(PY) benchmarks/adversarial.py
	$(PY) benchmarks/timewait.py
	$(PY) benchmarks/report.py
	@if [ "$$(id -u)" = 0 ] && [ -e /dev/net/tun ]; then $(PY) benchmarks/kernel.py; else echo "kernel benchmark skipped: needs root and /dev/net/tun"; fi

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis .mypy_cache .ruff_cache
