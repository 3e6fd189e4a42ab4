# Every target creates and uses its own virtualenv (.venv): a fresh machine needs
# only Python 3.10-3.14, pip and gcc (durable-rules compiles from source).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test test-fast bench lint clean libreoffice

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

bench: venv
	$(BIN)/python -m bench

lint: venv
	$(BIN)/ruff check reconcile tests samples bench

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache .hypothesis
