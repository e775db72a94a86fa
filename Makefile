# statefuldb.k8s — every command a user or CI needs. `make demo` and `make test` work on a fresh
# machine: they create the virtual environment, install pinned packages and build the control plane.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(abspath $(VENV)/bin)
export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(abspath .collections)
LOCALKUBE := python3 tools/localkube/localkube.py
FLAVOR ?= mariadb

.PHONY: help venv system-deps collection-link cluster cluster-down cluster-reset cluster-status \
        test test-unit test-integration test-reset sanity lint build-check demo bench bench-cluster chaos chaos-role \
        chaos-cloudsql chaos-fanout chaos-data clean \
        core-venvs core-matrix galaxy-venv awx-surveys

help:
	@echo "make demo          deploy a primary/replica MariaDB 11.8 on real pods and show it (FLAVOR=mysql: MySQL 9.7)"
	@echo "make test          every gate CI runs (unit, integration, molecule, sanity, lint, build)"
	@echo "make cluster       build (once) and start the local Kubernetes control plane"
	@echo "make cluster-down  stop it (state kept);  make cluster-reset  stop and delete its state"
	@echo "make test-reset    the test of make cluster-reset: wipes the cluster and all on it (make test never does)"
	@echo "make bench         side-by-side benchmarks (kubectl, kubernetes.core, this collection)"
	@echo "make core-matrix   unit tests + smoke on every ansible-core in tests/matrix (own venvs)"
	@echo "make awx-surveys   regenerate awx/*.survey.json from the roles' argument specs"
	@echo "make chaos         the Cloud SQL faults, then each API fault N times (CHAOS_RUNS=20) through"
	@echo "                   tools/faultproxy.py; tables (bench/RELIABILITY.md). CHAOS_ARGS=--restarts-only:"
	@echo "                   control-plane restarts instead (they disturb everyone on the cluster)"
	@echo "make chaos-cloudsql  the Cloud SQL modules under 429/503/409/412/lost answers, against the fake (no cluster)"
	@echo "make chaos-role    the mysql_cluster role re-run under API faults on real pods (CHAOS_ROLE_RUNS=3)"
	@echo "make chaos-fanout  one playbook, forks=10: 10 namespaces (KWOK) and 2-3 mysql_cluster on real pods, twice"
	@echo "make chaos-data    the mysql_cluster role on real pods: no data lost, pod/container/containerd faults"
	@echo "                   (CHAOS_DATA_RUNS=N runs each, default 3; CHAOS_DATA_ARGS='--flavor mysql-9.7')"

$(VENV)/.installed: requirements-dev.txt requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed collection-link

collection-link:
	@mkdir -p .collections/ansible_collections/statefuldb
	@ln -sfn ../../.. .collections/ansible_collections/statefuldb/k8s

system-deps:
	@bash tools/system-deps.sh

cluster: system-deps
	$(LOCALKUBE) up

cluster-down:
	$(LOCALKUBE) down

cluster-reset:
	$(LOCALKUBE) reset

cluster-status:
	$(LOCALKUBE) status

# Coverage of plugins/module_utils is reported with the unit tests (the TOTAL line); the threshold
# that fails the gate is .coveragerc's fail_under.
UNIT_COVERAGE := --cov=ansible_collections.statefuldb.k8s.plugins.module_utils --cov-report=term:skip-covered

test-unit: venv
	bash tools/pytest-gate.sh $(UNIT_COVERAGE) tests/unit

# The reset test wipes the cluster and all on it (a demo too): deselected here, `make test-reset` runs it.
test-integration: venv cluster
	bash tools/pytest-gate.sh tests/integration -m "not cluster_reset"

test-reset: venv cluster
	bash tools/pytest-gate.sh tests/integration/localkube/test_reset.py -m cluster_reset

# The gates of tools/test-all.sh that need no cluster, one target each (same commands).
sanity:
	bash tools/sanity.sh

lint: venv
	bash tools/lint.sh

build-check: venv galaxy-venv
	bash tools/build-check.sh

# One venv per ansible-core minor of the matrix, and one for galaxy-importer; each is rebuilt only
# when its requirement files change (tools/venv-for.sh keeps their hash), so a clean clone builds
# them once.
CORE_VERSIONS := $(sort $(patsubst tests/matrix/ansible-core-%.txt,%,$(wildcard tests/matrix/ansible-core-*.txt)))

core-venvs:
	@for v in $(CORE_VERSIONS); do \
	  bash tools/venv-for.sh .venv-core-$$v tests/matrix/requirements-common.txt tests/matrix/ansible-core-$$v.txt || exit 1; \
	done

galaxy-venv:
	@bash tools/venv-for.sh .venv-galaxy requirements-galaxy.txt

core-matrix: venv core-venvs
	bash tools/core-matrix.sh

awx-surveys: venv
	$(PY) tools/awx-survey --write

test: venv system-deps cluster core-venvs galaxy-venv
	bash tools/test-all.sh

demo: venv cluster
	FLAVOR=$(FLAVOR) bash tools/demo.sh

bench: venv cluster
	$(PY) -m bench.run

# Fault-proxy scenarios (bench/chaos.py); CHAOS_RUNS=3 for a quick pass, CHAOS_ARGS=--quick for the
# `make test` subset. Component restarts are separate (CHAOS_ARGS=--restarts): they disturb the cluster.
chaos: venv cluster chaos-cloudsql
	$(PY) -m bench.chaos $(CHAOS_ARGS)

# The mysql_cluster role re-run under API faults on real pods (CHAOS_ROLE_RUNS per scenario, default 3).
chaos-role: venv cluster
	$(PY) -m bench.chaos_role

# Cloud SQL scenarios (bench/chaos_cloudsql.py) against statefuldb_dev/cloudsql_api.py: no cluster needed.
chaos-cloudsql: venv
	$(PY) -m bench.chaos_cloudsql $(CHAOS_CLOUDSQL_ARGS)

# Fan-out like an AWX job (bench/chaos_fanout.py): FANOUT_ARGS="--db-clusters 2" etc.
chaos-fanout: venv cluster
	$(PY) -m bench.chaos_fanout $(FANOUT_ARGS)

# Real pods, a writer and the role (bench/chaos_data.py): minutes per run, so its own target and
# fewer runs than `make chaos` (see bench/RELIABILITY.md, "Data and real pods").
CHAOS_DATA_RUNS ?= 3
chaos-data: venv cluster
	$(PY) -m bench.chaos_data --runs $(CHAOS_DATA_RUNS) $(CHAOS_DATA_ARGS)

bench-cluster: system-deps
	$(LOCALKUBE) bench

clean:
	rm -rf .build tests/output
