# The README's quick start is exactly `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench fuzz install clean lab lab-deps

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

# The real-kernel lab: Debian's arm64 kernels under QEMU (TCG), checked against memattr's predictions.
# lab-deps installs QEMU and the arm64 cross compiler from Debian (root, or sudo); the kernels and
# busybox are downloaded by `memattr lab` itself into ~/.cache/memattr/lab.
lab-deps:
	@command -v qemu-system-aarch64 >/dev/null && command -v aarch64-linux-gnu-gcc >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    qemu-system-arm gcc-aarch64-linux-gnu; }

lab: install lab-deps
	$(BIN)/memattr lab --cpu max --cpu cortex-a57 --guest-map ioremap --guest-map ioremap_wc
