# fleetwatch — the two commands that matter: `make demo` and `make test`.
# Both work on a fresh machine with only Python 3.11, JDK 17 and Maven:
# they create .venv, install, fetch the JVM artifacts into var/ and start
# what they need.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Slow downloads are cached under ignored folders; nothing relies on them.
export PIP_CACHE_DIR := $(CURDIR)/var/cache/pip
PYTEST_ARGS ?=

.PHONY: help install airflow airflow-up airflow-down jars postgres chromium demo test test-unit services-up services-down history lint bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install fleetwatch with its test tools

AIRFLOW_VENV  := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
$(AIRFLOW_STAMP): conf/airflow/requirements.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/pip install --quiet -r conf/airflow/requirements.txt
	$(AIRFLOW_VENV)/bin/pip install --quiet --no-deps apache-airflow-providers-apache-spark==5.6.0
	# nothing of fleetwatch: the DAGs import only dags/fleetwatch_tasks.py (standard library
	# and Airflow) and run the application's own `fleetwatch` and spark-submit from .venv
	touch $(AIRFLOW_STAMP)

airflow: $(AIRFLOW_STAMP)  ## Airflow 3 in its own virtualenv (.venv-airflow)

AIRFLOW_PORT ?= 8080
UNPAUSE ?=
airflow-up: jars airflow  ## a local Airflow 3 on dags/: prints the UI address and login (UNPAUSE="dag …")
	$(BIN)/python -m spark_app.services.airflow up --port $(AIRFLOW_PORT) $(if $(UNPAUSE),--unpause $(UNPAUSE))

airflow-down:  ## stop the Airflow of make airflow-up (and the tasks it runs)
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m spark_app.services.airflow down; fi

jars: install  ## fetch Cassandra and the Spark Cassandra Connector with Maven (var/jars)
	$(BIN)/fleetwatch jars

postgres:  ## install Debian's PostgreSQL if missing (the relational tests start their own cluster)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing postgresql from Debian"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

chromium:  ## install Debian's Chromium if missing (the report's browser test drives it headless)
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium from Debian"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

DB ?= sqlite
demo: jars $(if $(filter postgres,$(DB)),postgres)  ## start the services, initialise the schemas and run the demo (DB=postgres: on a local PostgreSQL)
	$(BIN)/fleetwatch demo --db $(DB)
	@echo "The services keep running for you to explore; 'make services-down' stops them."

test: jars postgres chromium airflow  ## install everything and run every test (unit, then integration)
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no test: that is a failure here"; fi; \
	exit $$rc

test-unit: install  ## unit tests only (no JVM, no services)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

services-up: jars  ## start the local Cassandra (idempotent)
	$(BIN)/fleetwatch services start

services-down:  ## stop the local services started by this project
	@if [ -x $(BIN)/fleetwatch ]; then $(BIN)/fleetwatch services stop; fi

history: install  ## Spark History Server over var/spark-events at http://127.0.0.1:18080 (Ctrl-C stops)
	mkdir -p var/spark-events
	SPARK_HOME=$$($(BIN)/python -c 'from pyspark.find_spark_home import _find_spark_home as h; print(h())'); \
	SPARK_HISTORY_OPTS="-Dspark.history.fs.logDirectory=file://$(CURDIR)/var/spark-events" \
	  "$$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.history.HistoryServer

lint: install  ## static checks
	$(BIN)/ruff check --target-version py311 --line-length 100 --select E,F,W,I,B,UP --ignore E501 \
	  spark_app rules schemas dags tests bench

SCALE ?= full
bench: services-up postgres  ## benchmarks side by side into BENCHMARKS.md and var/bench/results.json (tens of minutes; make bench SCALE=small: a few)
	$(BIN)/python -m bench --scale $(SCALE)

clean: airflow-down services-down  ## remove the venv and everything under var/
	rm -rf $(VENV) $(AIRFLOW_VENV) var
