# Two entry points: `make demo` (quick grid on the real data, tracked, tables exported)
# and `make test`. Both create the virtual environment on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)

.PHONY: setup demo test lint ui clean-store

setup: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: setup
	$(PY) -m benchmarks run benchmarks/grids/quick.toml --workers 2
	$(PY) -m benchmarks export --experiment quick --format md --out reports/quick.md
	$(PY) -m benchmarks export --experiment quick --format csv --out reports/quick.csv
	$(PY) -m benchmarks report --experiment quick --out reports/quick.html
	@echo "Tables and report in reports/; browse the runs with: $(PY) -m benchmarks ui"

test: setup
	$(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check .

ui: setup
	$(PY) -m benchmarks ui
