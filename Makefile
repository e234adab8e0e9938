# tuopin: `make run` and `make test` set up everything they need on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | sha256sum | cut -c1-12)
# The tests run Spark: the same pins plus PySpark (~470 MB), installed only by `make test`.
SPARK_STAMP := $(VENV)/.installed-spark-$(shell cat pyproject.toml requirements-spark.lock | sha256sum | cut -c1-12)
export UV_PYTHON_DOWNLOADS := never

DEMO_DB := var/tuopin.db
DEMO_HOUSEHOLDS ?= 30000
DEMO_SEED ?= 2019

.PHONY: setup setup-spark run demo test lint typecheck layers pytest postgres browser-deps bench clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade uv
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements.lock
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e .
	$(call compile,$(VENV)/lib)
	rm -f $(VENV)/.installed-[0-9a-f]*; touch $(STAMP)

# Bytecode written ahead: where PYTHONDONTWRITEBYTECODE is set (CI, containers) Python would
# otherwise compile ~500 modules on every command (`tuopin --help` 0.6 s instead of 0.3 s).
# Only a speed-up: a file that does not compile (a vendored test) must not stop the setup.
compile = $(PY) -m compileall -q -j 0 $(1) >/dev/null 2>&1 || true

setup: $(STAMP)
	@$(call compile,src)

# A superset of requirements.lock (same versions), so `make run` after it changes nothing.
$(SPARK_STAMP): pyproject.toml requirements-spark.lock | $(STAMP)
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements-spark.lock
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e .
	$(call compile,$(VENV)/lib)
	rm -f $(VENV)/.installed-spark-*; touch $(SPARK_STAMP)

setup-spark: setup $(SPARK_STAMP)

# Build the demo county once (about 30,000 households, fixed seed), then show it.
demo: setup
	@[ -f $(DEMO_DB) ] || scripts/build_demo.sh $(DEMO_DB) $(DEMO_HOUSEHOLDS) $(DEMO_SEED)

# Serve the web application on the demo county. The demo accounts (one per role) are made
# once, and their passwords printed then; later runs name them and how to reset a password.
run: demo
	TUOPIN_DATABASE_URL=sqlite:///$(DEMO_DB) $(VENV)/bin/tuopin init
	TUOPIN_DATABASE_URL=sqlite:///$(DEMO_DB) $(VENV)/bin/tuopin summary
	TUOPIN_DATABASE_URL=sqlite:///$(DEMO_DB) $(VENV)/bin/tuopin users demo
	TUOPIN_DATABASE_URL=sqlite:///$(DEMO_DB) $(VENV)/bin/tuopin serve --with-worker --host 127.0.0.1 --port 8000

# PostgreSQL for the store's tests: installed and started if it is not there.
postgres:
	@if ! ls /etc/postgresql >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; fi
	@pg_isready -q -h 127.0.0.1 -p 5432 || \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
		echo "PostgreSQL did not start"; exit 1

# The browser tests drive Debian's chromium (never `playwright install`); CJK fonts so that
# screenshots show Chinese instead of empty boxes.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			chromium fonts-noto-cjk; fi

lint: setup
	$(VENV)/bin/ruff check src tests scripts bench

typecheck: setup
	$(VENV)/bin/mypy

layers: setup
	$(VENV)/bin/lint-imports

# Spark tests share one xdist_group, so one worker runs them all on one Spark session.
pytest: setup-spark postgres browser-deps
	$(PY) -m pytest -n 2 --dist loadgroup -q

test: lint typecheck layers pytest

# The MPI benchmark's baseline, PyPI mpitb 0.2, in an environment of its own inside .venv,
# never in the app's (same pandas, NumPy and pyarrow as the lock; mpitb also brings SciPy).
MPITB_VENV := $(VENV)/bench-mpitb
MPITB_STAMP := $(MPITB_VENV)/.installed-$(shell cat requirements.lock | sha256sum | cut -c1-12)

$(MPITB_STAMP): requirements.lock | $(STAMP)
	test -x $(MPITB_VENV)/bin/python || $(PYTHON) -m venv $(MPITB_VENV)
	$(VENV)/bin/uv pip install -q --python $(MPITB_VENV)/bin/python -c requirements.lock \
		mpitb==0.2 numpy pandas pyarrow
	rm -f $(MPITB_VENV)/.installed-*; touch $(MPITB_STAMP)

bench: setup postgres $(MPITB_STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
