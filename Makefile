# Every target creates and uses its own virtualenv (.venv): a fresh machine needs
# only Python 3.10-3.14, pip and gcc (durable-rules compiles from source). The
# Python is found by tools/find-python.sh unless named: make PYTHON=/path/to/python3.
# `make test` also installs the programs the tests start (LibreOffice: make system).
PYTHON ?=
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv system demo test test-fast test-py313 bench bench-quick lint clean libreoffice

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	@python="$(PYTHON)"; [ -n "$$python" ] || python=$$(bash tools/find-python.sh) || exit 1; \
	echo "make: creating $(VENV) with $$python ($$("$$python" --version 2>&1))"; \
	"$$python" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: venv
	$(BIN)/reconcile demo --out out

# system first: a machine that cannot install the programs stops at once, saying what
# to run, before the virtualenv is built
test: system venv
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider

test-fast: venv
	$(BIN)/python -m pytest -q -x -m 'not slow' -p no:cacheprovider

# The programs the tests and tools start (LibreOffice, poppler, ...), listed in
# tools/system-packages.txt: installs the Debian packages of those missing, as root or
# with passwordless sudo, else stops printing the command to run. A no-op when all
# are installed. `make libreoffice` is the older name.
system:
	@bash tools/system-setup.sh

libreoffice: system

# the bench extra: the floors' readers and the compared xlsx writers (not the product's)
bench: venv
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench

# The same suite on Python 3.13, where durable-rules cannot import: the pure-Python
# backend of the rule language runs instead (setup.cfg installs durable-rules only
# below 3.13).
PY313  ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13)
VENV313 ?= .venv313
test-py313: system
	$(PY313) -m venv $(VENV313)
	$(VENV313)/bin/python -m pip install --quiet --upgrade pip
	$(VENV313)/bin/python -m pip install --quiet -e '.[test]'
	$(VENV313)/bin/python -m pytest -q -n 2 -p no:cacheprovider

bench-quick: venv
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench --quick

lint: venv
	$(BIN)/ruff check reconcile tests samples bench

clean:
	rm -rf $(VENV) $(VENV313) out build *.egg-info .pytest_cache .hypothesis
