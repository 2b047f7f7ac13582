# Two commands matter: `make run` and `make test`. Everything else here serves them.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
EMULATOR_PORT ?= 5001
SHOP_PORT ?= 5000

.PHONY: run test lint bench system-deps clean

$(INSTALLED): requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Debian's Chromium for the browser tests and Redis for the scale-out tests, installed only when
# missing and only as root (CI runs as root; a developer without root installs them by hand).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing$$missing from Debian"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing$$missing: install with apt-get (browser and Redis tests will be skipped)"; \
	  fi; \
	fi

# Starts the local KCO emulator and the shop; Ctrl-C stops both.
run: $(INSTALLED)
	@$(PY) -m devserver --emulator-port $(EMULATOR_PORT) --shop-port $(SHOP_PORT)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .

test: $(INSTALLED) system-deps lint
	$(PY) -m pytest

# Each benchmark starts its own emulator and shop on free ports and prints a markdown table (see README).
bench: $(INSTALLED) system-deps
	@for script in bench/bench_*.py; do $(PY) -m bench.$$(basename $$script .py) || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis e2e/screenshots
