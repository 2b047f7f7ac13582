# Two commands matter: `make run` and `make test`. Everything else here serves them.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
EMULATOR_PORT ?= 5001
SHOP_PORT ?= 5000

.PHONY: run test lint bench screenshots translations mutate mutate-js venv-deps system-deps clean

# The project itself is installed too (editable, with the emulator extra), as a merchant installs it: the
# `kco-emulator` command and the pytest plugin that the tests use come from that install.
$(INSTALLED): requirements.txt requirements-dev.txt pyproject.toml | venv-deps
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[emulator]'
	touch $@

# `python3 -m venv` needs ensurepip, which minimal Debian images leave out (package python3-venv).
venv-deps:
	@python3 -c "import ensurepip" 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
	  else \
	    echo "python3 cannot create virtual environments: apt-get install python3-venv"; exit 1; \
	  fi; }

# Debian's Chromium for the browser tests, Redis and PostgreSQL for the scale-out tests, installed only when
# missing and only as root (CI runs as root; a developer without root installs them by hand).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing$$missing from Debian"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing$$missing: install with apt-get (browser, Redis and PostgreSQL tests will be skipped)"; \
	  fi; \
	fi

# Starts the local KCO emulator and the shop (harness/local_stack.py); Ctrl-C or SIGTERM stops both.
run: $(INSTALLED)
	@$(PY) -m harness.local_stack --emulator-port $(EMULATOR_PORT) --shop-port $(SHOP_PORT)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy --strict kco/

# Two workers, one test file each at a time: each worker starts its own emulator, shop and browser.
test: $(INSTALLED) system-deps lint
	$(PY) -m pytest -n 2 --dist loadfile

# Each benchmark starts its own emulator and shop on free ports and prints a markdown table (docs/performance.md).
bench: $(INSTALLED) system-deps
	@for script in bench/bench_*.py; do $(PY) -m bench.$$(basename $$script .py) || exit 1; done

# Rewrites the screenshots of the README, docs/workshop.md and the shopper's language (docs/images/) from the
# e2e journeys that take them.
screenshots: $(INSTALLED) system-deps
	README_SCREENSHOTS=1 $(PY) -m pytest e2e/test_workshop_inspector.py e2e/test_workshop_on_a_projector.py \
	  e2e/test_shopper_language.py e2e/test_completing_the_purchase.py

# After marking or changing a string: extract the marked strings (babel.cfg) and update each catalogue in
# translations/, then translate what is new or fuzzy. The shop compiles the catalogues itself when it starts
# (shop/shopper_language.py); tests/test_translations.py fails while a catalogue lacks a translation.
translations: $(INSTALLED)
	mkdir -p build
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l --add-location=file --sort-by-file -o build/messages.pot .
	$(VENV)/bin/pybabel update -i build/messages.pot -d translations --ignore-obsolete -w 110

# Mutation testing, not part of `make test` (docs/mutation-testing.md): mutmut plants mistakes in kco/ and runs
# the tests that exercise it; mutate-js plants the mistakes of tests/js_mutants.py in kco-sync.js and runs the
# journeys that must catch each. Both print their score and survivors.
mutate: $(INSTALLED)
	$(PY) -m tests.kco_mutants

mutate-js: $(INSTALLED) system-deps
	$(PY) -m tests.js_mutants

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis e2e/screenshots mutants
