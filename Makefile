# The README's quick start is exactly `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench fuzz install clean

$(BIN)/memattr: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/memattr

demo: install
	$(BIN)/memattr demo examples/arm64-server

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis

# The hostile-input campaign: 100,000 mutated inputs per reader, a table of tracebacks/hangs/exit codes.
fuzz: install
	$(BIN)/python fuzz/campaign.py --per-reader 100000
