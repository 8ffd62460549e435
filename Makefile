# Quick start: `make demo`, then `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install system-deps browser-deps demo test serve worker beat bench docs-screenshots clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@rm -f $(VENV)/.installed-* && touch $@

# Debian packages the real-parts tests need: a headless browser and its driver
# for the signup flow, Postfix's smtp-sink for the benchmark. Installed only
# when missing, and only where we may (root, or passwordless sudo).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null 2>&1 || missing="$$missing chromium-driver"; \
	command -v smtp-sink >/dev/null 2>&1 || test -x /usr/sbin/smtp-sink || missing="$$missing postfix"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else \
	    echo "system-deps: missing$$missing and no root: install them with apt-get (tests needing them will skip)"; exit 0; fi; \
	  echo "system-deps: installing$$missing"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# axe-core for the accessibility checks in the browser tests: the version pinned in
# package.json / package-lock.json, into node_modules/ (git-ignored). `npm ci`
# checks the lock file's integrity hashes.
AXE := node_modules/axe-core/axe.min.js
browser-deps: $(AXE)

$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "browser-deps: npm missing (make system-deps); the accessibility checks will skip"; fi

demo: install
	DEBUG=true $(PY) manage.py demo

test: install system-deps browser-deps
	$(BIN)/pytest

# The README's pictures (docs/*.png), made by the browser tests' own screenshot code.
docs-screenshots: install system-deps browser-deps
	UPDATE_DOCS_SCREENSHOTS=1 $(BIN)/pytest -q tests/looks -k readme

serve: install
	$(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(PY) manage.py runserver 127.0.0.1:8000

worker: install
	$(BIN)/celery -A digest_site worker --loglevel=INFO --concurrency=$${CONCURRENCY:-2}

beat: install
	$(BIN)/celery -A digest_site beat --loglevel=INFO

bench: install system-deps
	$(PY) manage.py migrate --no-input  # bench_import, bench_match and bench_search use the configured database
	$(PY) manage.py bench_import
	$(PY) manage.py bench_match
	$(PY) manage.py bench_search --papers $${SEARCH_PAPERS:-10000}
	$(PY) manage.py bench_digests --subscribers $${SUBSCRIBERS:-100000}

clean:
	rm -rf var staticfiles .pytest_cache .hypothesis node_modules
