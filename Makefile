# synack: `make demo` and `make test` work on a fresh machine; each creates .venv when missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-test

.PHONY: demo test bench venv clean apt

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e .
	touch $@

$(STAMP): $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) -m synack.cli demo

apt:
	@bash .ci/install-apt

test: $(STAMP) apt
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) benchmarks/run.py
	$(PY) benchmarks/synflood.py
	$(PY) benchmarks/adversarial.py
	@if [ "$$(id -u)" = 0 ] && [ -e /dev/net/tun ]; then $(PY) benchmarks/kernel.py; else echo "kernel benchmark skipped: needs root and /dev/net/tun"; fi

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis
