# pfpw — population and family-planning data warehouse
# `make run` from a fresh clone installs everything (uv, then the locked set) and runs the pipeline on sources/.

PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster
export PFPW_SOURCES_DIR ?= $(CURDIR)/sources
export PFPW_WAREHOUSE_DIR ?= $(CURDIR)/warehouse
# The shipped sample is synthetic and its key is public (README): `make run` and `make ui` pass it
# explicitly. `pfpw run` itself has no default and refuses to start without PFPW_PII_KEY.
SAMPLE_PII_KEY := pfpw-development-key-for-synthetic-sample-only
export PFPW_PII_KEY ?= $(SAMPLE_PII_KEY)
UI_HOST ?= 127.0.0.1
UI_PORT ?= 3000
# `make serve`'s door (docs/ui-door.md): nginx on UI_HOST:UI_PORT asks for basic auth (PFPW_UI_USER and
# PFPW_UI_PASSWORD, from the environment) and proxies to the webserver on 127.0.0.1:UI_INTERNAL_PORT
UI_INTERNAL_PORT ?= 3070
PFPW_UI_USER ?= pfpw

.PHONY: install run test lint format ui serve sample bench soak clean bi bi-install bi-lock bi-screenshot spark-install spark-test

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@# --compile-bytecode: every process (pfpw, dbt, a step's) imports compiled modules, also where
	@# PYTHONDONTWRITEBYTECODE is set or the venv is read-only (here: 2.4 s instead of 5.4 s to import GX)
	$(UV) sync --locked --compile-bytecode
	@mkdir -p $(DAGSTER_HOME) && cp -n deploy/dagster.yaml $(DAGSTER_HOME)/dagster.yaml 2>/dev/null || true
	@# the dbt manifest the definitions are built from, prepared here (dagster-dbt's "prepare" step)
	$(BIN)/python -m dagster_project.defs.dbt.project
	@touch $@

run: install  ## ingest sources/, build, audit and publish warehouse/serving.duckdb
	$(BIN)/pfpw run --sources $(PFPW_SOURCES_DIR) --warehouse $(PFPW_WAREHOUSE_DIR)

test: install lint  ## lint, then what a change needs to be trusted: every test but the slow tier (docs/tests.md)
	$(BIN)/pytest -n 2 --dist loadgroup --no-loadscope-reorder -m "not slow"

.PHONY: test-all
test-all: install lint  ## lint, then every test (Spark parity, Superset, daemon, both random nights, ...): .ci/run
	$(BIN)/pytest -n 2 --dist loadgroup --no-loadscope-reorder

lint: install
	$(BIN)/ruff check dagster_project tests benchmarks dbt/bouncer_checks bi
	$(BIN)/ruff format --check dagster_project tests benchmarks dbt/bouncer_checks bi
	$(BIN)/lint-imports
	@# the dbt templater opens the DuckDB profile: give it a throwaway warehouse folder
	PFPW_WAREHOUSE_DIR=$$(mktemp -d) $(BIN)/sqlfluff lint dbt/models --processes 2
	@# the review dbt Labs' dbt-project-evaluator makes, as dbt-bouncer checks on the manifest (parsed again if stale)
	$(BIN)/python -m dagster_project.defs.dbt.project
	$(BIN)/dbt-bouncer run --config-file dbt/dbt-bouncer.yml

format: install
	$(BIN)/ruff check --fix dagster_project tests benchmarks dbt/bouncer_checks bi
	$(BIN)/ruff format dagster_project tests benchmarks dbt/bouncer_checks bi
	PFPW_WAREHOUSE_DIR=$$(mktemp -d) $(BIN)/sqlfluff fix dbt/models --processes 2

ui: install  ## the Dagster UI on the same instance as `make run` (http://127.0.0.1:$(UI_PORT))
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(UI_PORT)

# Production: the webserver and the daemon as two long-running processes (not `dagster dev`) on the
# instance in $(DAGSTER_HOME); deploy/systemd/ runs the same two commands as services. The webserver
# listens on 127.0.0.1 only, behind nginx (deploy/proxy/serve_proxy.py, its files in $(DAGSTER_HOME)/proxy),
# which asks for a password. Any one of the three exiting stops the others; Ctrl-C or SIGTERM stops all.
WEBSERVER := $(BIN)/dagster-webserver -w workspace.yaml -h 127.0.0.1 -p $(UI_INTERNAL_PORT)
DAEMON := $(BIN)/dagster-daemon run -w workspace.yaml
PROXY := $(BIN)/python deploy/proxy/serve_proxy.py --host "$(UI_HOST)" --port $(UI_PORT) \
  --upstream 127.0.0.1:$(UI_INTERNAL_PORT) --user "$(PFPW_UI_USER)" --dir "$(DAGSTER_HOME)/proxy"
# The instance's run, event-log and schedule storage in PostgreSQL (docs/postgres.md), written into
# $(DAGSTER_HOME)/dagster.yaml at every start from deploy/dagster.yaml and deploy/dagster-postgres.yaml:
# PFPW_DAGSTER_PG_URL names an existing server (postgresql+psycopg2://user:password@host:port/db); without it a
# local cluster in PG_DIR (deploy/postgres/pg.sh: initialised once, as the postgres user when root, on a unix
# socket in PG_DIR only) is started before the three and stopped after them. Its DAGSTER_HOME is the one the
# environment or the command line names (on a production host the same for `pfpw run`), else .dagster-serve:
# a clone's .dagster stays the embedded SQLite instance of `make run` and `make ui`.
PG_DIR ?= $(CURDIR)/.pg
PG_PORT ?= 5432
PG := deploy/postgres/pg.sh
PG_LOCAL := $(if $(PFPW_DAGSTER_PG_URL),,local)
SERVE_HOME := $(if $(filter file,$(origin DAGSTER_HOME)),$(CURDIR)/.dagster-serve,$(DAGSTER_HOME))
serve: export DAGSTER_HOME := $(SERVE_HOME)

serve: install  ## production webserver + daemon behind a password (http://$(UI_HOST):$(UI_PORT)); needs the real PFPW_PII_KEY
	@case "$$PFPW_PII_KEY" in ""|"$(SAMPLE_PII_KEY)"|change-me*) \
	  echo "make serve: set PFPW_PII_KEY to the production key (empty, the sample's public key and change-me are refused)" >&2; \
	  exit 2;; esac
	@$(PROXY) check
	@$(BIN)/python deploy/postgres/instance.py --home "$(DAGSTER_HOME)" $(if $(PG_LOCAL),--url "$$($(PG) url "$(PG_DIR)" $(PG_PORT))")
	@$(if $(PG_LOCAL),$(PG) start "$(PG_DIR)" $(PG_PORT) || exit 1;) \
	echo "$(PROXY) run &"; echo "$(WEBSERVER) &"; echo "$(DAEMON) &"; \
	stopping=0; trap 'stopping=1; kill -TERM $$proxy $$web $$daemon 2>/dev/null' INT TERM; \
	$(PROXY) run & proxy=$$!; \
	$(WEBSERVER) & web=$$!; \
	$(DAEMON) & daemon=$$!; \
	while kill -0 $$proxy 2>/dev/null && kill -0 $$web 2>/dev/null && kill -0 $$daemon 2>/dev/null; do sleep 1; done; \
	kill -TERM $$proxy $$web $$daemon 2>/dev/null; wait; \
	$(if $(PG_LOCAL),$(PG) stop "$(PG_DIR)";) \
	if [ $$stopping = 0 ]; then echo "make serve: the proxy, the webserver or the daemon exited, all are stopped" >&2; exit 1; fi

sample: install  ## regenerate the committed sample landing zone (deterministic)
	rm -rf sources && $(BIN)/pfpw generate --out sources --seed 2012

bench: install  ## the nights of the sample, then scale: floor, ingestion and nights at 10x4 and 10x10 (SIZES; REPEAT: the last nights N times, their medians)
	$(BIN)/python benchmarks/nightly.py
	$(BIN)/python benchmarks/scale.py $(foreach s,$(or $(SIZES),sample 10x4 10x10),--size $(s)) --repeat $(or $(REPEAT),3)

soak: install  ## many random sequences of nights on one instance, each night compared with a fresh build
	$(BIN)/python -m tests.nightly --sequences $(or $(SEQUENCES),30) --nights $(or $(NIGHTS),4)

# BI: Apache Superset in its own environment (.bi-venv, pinned by bi/constraints.txt, never the pipeline's
# uv.lock), its metadata in .bi/ (git-ignored). bi/run.sh says what it does and which variables it reads.
BI_VENV := .bi-venv
BI_PORT ?= 8088

bi-install: $(BI_VENV)/.installed  ## Superset's environment (.bi-venv), exactly the set bi/constraints.txt pins

$(BI_VENV)/.installed: bi/requirements.in bi/constraints.txt
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) venv $(BI_VENV) --python 3.11 --python-preference only-system --allow-existing --quiet
	$(UV) pip install --python $(BI_VENV)/bin/python --exact -r bi/requirements.in -c bi/constraints.txt
	@touch $@

bi: bi-install  ## Superset on $(PFPW_WAREHOUSE_DIR)/serving.duckdb, read-only, with the district dashboard (http://127.0.0.1:$(BI_PORT))
	PFPW_BI_PORT=$${PFPW_BI_PORT:-$(BI_PORT)} bi/run.sh

bi-lock:  ## bi/requirements.in resolved into bi/constraints.txt, keeping its pins (UPGRADE=1: the newest of everything)
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) pip compile bi/requirements.in --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	  --custom-compile-command "make bi-lock" --quiet -o bi/constraints.txt $(if $(UPGRADE),--upgrade)

bi-screenshot: bi-install  ## docs/img/superset_dashboard.png, of the dashboard a running `make bi` serves
	$(BI_VENV)/bin/python bi/screenshot.py --url http://127.0.0.1:$${PFPW_BI_PORT:-$(BI_PORT)} --out docs/img/superset_dashboard.png

# Spark: dbt-spark and pyspark in their own environment (.spark-venv, the `spark` dependency group of uv.lock), never
# in .venv: pyspark's import calls sys.exit(0) when __main__ has no file. Needs Java 17. dbt's `spark` target
# (dbt/profiles.yml) runs the same models in a local SparkSession; the parity test compares every mart and audit
# cell with DuckDB's.
SPARK_VENV := .spark-venv

spark-install: $(SPARK_VENV)/.installed  ## dbt-spark and pyspark in .spark-venv (apart from .venv)

$(SPARK_VENV)/.installed: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	UV_PROJECT_ENVIRONMENT=$(SPARK_VENV) $(UV) sync --locked --compile-bytecode --only-group spark --no-install-project
	@command -v java >/dev/null 2>&1 || [ -n "$$JAVA_HOME" ] || echo "make spark-install: Spark needs Java 17 (no java on PATH)" >&2
	@touch $@

spark-test: install spark-install  ## dbt build on DuckDB and on Spark, every mart and audit cell compared
	$(BIN)/pytest tests/test_spark_parity.py -p no:xdist

clean:
	rm -rf warehouse .dagster dbt/target dbt/logs
