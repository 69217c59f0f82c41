# The two set-up commands of the README: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow bench install clean chromium

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0          # CPU build; a plain `torch` pulls CUDA wheels
	$(PY) -m pip install -q -e '.[test,ray]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/bitterlab demo

# The report's browser test needs Debian's chromium; install it where we can (root + apt), else it is skipped.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; }; }; } || \
	  echo "chromium could not be installed: the report's browser test will be skipped"

# `make test`: everything but the end-to-end tests marked slow (real processes, Ray, whole quick studies);
# `make test-slow` runs those. CI (.ci/run) runs both.
test: $(STAMP) chromium
	$(PY) -m pytest -q -n 2 -m "not slow" --doctest-modules src/bitterlab tests

test-slow: $(STAMP) chromium
	$(PY) -m pytest -q -n 2 -m slow tests

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) bitterlab-runs bitterlab-report
