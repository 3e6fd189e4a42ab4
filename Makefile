# Every target creates and uses its own virtualenv (.venv): a fresh machine needs
# only Python 3.10-3.14, pip and gcc (durable-rules compiles from source).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test test-fast test-py313 bench bench-quick lint clean libreoffice

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: venv
	$(BIN)/reconcile demo --out out

test: venv
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider

test-fast: venv
	$(BIN)/python -m pytest -q -x -m 'not slow' -p no:cacheprovider

# LibreOffice Calc (headless) and poppler: the test that recalculates the workbook's
# formulas, and the Summary picture. Needs root (apt-get); a no-op when installed.
libreoffice:
	bash tools/install-libreoffice.sh

bench: venv
	$(BIN)/python -m bench

# The same suite on Python 3.13, where durable-rules cannot import: the pure-Python
# backend of the rule language runs instead (setup.cfg installs durable-rules only
# below 3.13).
PY313  ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13)
VENV313 ?= .venv313
test-py313:
	$(PY313) -m venv $(VENV313)
	$(VENV313)/bin/python -m pip install --quiet --upgrade pip
	$(VENV313)/bin/python -m pip install --quiet -e '.[test]'
	$(VENV313)/bin/python -m pytest -q -n 2 -p no:cacheprovider

bench-quick: venv
	$(BIN)/python -m bench --quick

lint: venv
	$(BIN)/ruff check reconcile tests samples bench

clean:
	rm -rf $(VENV) $(VENV313) out build *.egg-info .pytest_cache .hypothesis
