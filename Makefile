# The commands the README gives. Each target creates .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STACK  ?= staging
# render: the parent folder of the renders (default build/render); diff: the report file.
OUT    ?=
# check: a folder of CRD YAML files to validate the custom resources against (e.g. kubectl get crd -o yaml)
CRDS   ?=
# diff: the git ref to compare the working tree with (default origin/main, else main, else HEAD),
# or a stack to compare STACK with; FORMAT=markdown for a pull request comment.
BASE    ?=
AGAINST ?=
FORMAT  ?= text

RUNTIME := $(VENV)/.runtime-installed
DEV     := $(VENV)/.dev-installed
# checkov and zizmor have a virtualenv of their own: checkov's pins conflict with the Pulumi SDK's.
SCAN    := .venv-scan/.installed
# simulate: the workload and the built-in load scenario (spike, ramp, daily, flash)
WORKLOAD ?= backend
SCENARIO ?= spike

# STACK set on the command line (or in the environment) limits check and diff to that stack;
# otherwise they cover every stack.
ONE_STACK = $(if $(filter command line environment,$(origin STACK)),--stack $(STACK))
OUT_ARG   = $(if $(OUT),--out $(OUT))

.PHONY: install preview prerequisites render check diff simulate downtime kubeconfig test lint docs constraints locks clean mutation

# PIP_LOCKED=1 (the GitHub workflows set it): install from the hashed locks/ with --require-hashes,
# so pip refuses any file whose sha256 the lock does not list. Otherwise from the pins (PIP_LOCKED=
# unset works offline against a local mirror whose wheels were rebuilt).
PIP = -m pip install --quiet --disable-pip-version-check
LOCKED = $(if $(filter 1,$(PIP_LOCKED)),--require-hashes --no-deps -r locks/$(1).txt,$(2))

$(RUNTIME): requirements.txt constraints.txt locks/runtime.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python $(PIP) $(call LOCKED,runtime,-r requirements.txt -c constraints.txt)
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt locks/dev.txt
	$(BIN)/python $(PIP) $(call LOCKED,dev,-r requirements-dev.txt -c constraints.txt)
	touch $@

$(SCAN): requirements-scan.txt constraints-scan.txt locks/scan.txt
	test -x .venv-scan/bin/python || $(PYTHON) -m venv .venv-scan
	.venv-scan/bin/python $(PIP) $(call LOCKED,scan,-r requirements-scan.txt -c constraints-scan.txt)
	touch $@

## install: .venv with the program's requirements only (what `pulumi up` needs)
install: $(RUNTIME)

## preview: print what STACK (default staging) would create, offline
preview: $(RUNTIME)
	$(BIN)/python -m offline preview --stack $(STACK)

## prerequisites: the CRDs, controllers, chart repositories and AWS permissions STACK needs
prerequisites: $(RUNTIME)
	$(BIN)/python -m offline prerequisites --stack $(STACK)

## render: write STACK's desired state to OUT/STACK (default build/render/staging)
render: $(RUNTIME)
	$(BIN)/python -m offline render --stack $(STACK) $(OUT_ARG)

## check: render and validate every Kubernetes object against the official schemas (all stacks, or STACK);
## CRDS=DIR also validates every custom resource against the CRD YAML files in DIR
check: $(DEV)
	$(BIN)/python -m offline render --check $(or $(ONE_STACK),--all) $(OUT_ARG) $(if $(CRDS),--crds $(CRDS))

## diff: what the working tree changes against BASE, per stack; or STACK against AGAINST. Exit 0 no
## changes, 1 error, 2 changes
diff: $(RUNTIME)
	$(BIN)/python -m offline diff --format $(FORMAT) $(OUT_ARG) \
		$(if $(AGAINST),--stack $(STACK) --against-stack $(AGAINST),$(ONE_STACK) $(if $(BASE),--base $(BASE)))

## simulate: replay the HPA controller on STACK's WORKLOAD against a built-in SCENARIO
simulate: $(DEV)
	$(BIN)/python -m offline simulate --stack $(STACK) --workload $(WORKLOAD) --scenario $(SCENARIO)

## downtime: the zero-downtime model on STACK: every scenario (or DOWNTIME=<scenario>), both ends of every
## delay; exit 0 every property holds, 1 one fails (named, with the instant and the objects), 2 bad input
DOWNTIME ?=
downtime: $(RUNTIME)
	$(BIN)/python -m offline downtime --stack $(STACK) $(if $(DOWNTIME),--scenario $(DOWNTIME))

## kubeconfig: add STACK's cluster to the kubeconfig, its context named by the cluster's ARN as the
## stack's `cluster.context` expects (needs the AWS CLI and credentials; used by CI before `pulumi`)
CLUSTER_ARGS = $(BIN)/python -c 'import sys; from config.stackfile import read_stack_config; c = read_stack_config(sys.argv[1])[0]["spywatcher:cluster"]; print("--name", c["name"], "--region", c["region"])'
kubeconfig: $(RUNTIME)
	aws eks update-kubeconfig $$($(CLUSTER_ARGS) $(STACK))

## test: the whole test suite (Pulumi mocks, no network; checkov and zizmor from .venv-scan)
test: $(DEV) $(SCAN)
	$(BIN)/python -m pytest

## mutation: mutation score of config/, components/, offline/, simulate/, policy/ with mutmut, niced;
## report in build/mutation/report.md. Days for all mutants (resumable): ONLY='config.schedule.*'
## runs the mutants matching a glob, SAMPLE=300 a random sample stratified by package (of the ONLY
## globs' mutants, if given; RETEST=1 runs its survivors again). BASE=origin/main: only the mutants on
## the lines changed since the merge base with BASE (report build/mutation/changed.md; exit 3 if any
## survives; MAX=60 runs a random 60 of them when there are more). JOBS=4: mutants run at once
## (default 1). Not part of `make test`.
ONLY   ?=
SAMPLE ?=
RETEST ?=
JOBS   ?= 1
MAX    ?=
mutation: $(DEV)
	nice $(BIN)/python -m tooling mutation $(foreach g,$(ONLY),--only '$(g)') $(if $(SAMPLE),--sample $(SAMPLE)) \
		$(if $(RETEST),--retest) $(if $(BASE),--changed $(BASE)) $(if $(MAX),--max-mutants $(MAX)) --jobs $(JOBS)

## lint: ruff and mypy
lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/mypy

## docs: regenerate docs/config.md (config reference), docs/simulator.md and docs/images/ (the simulator
## example and its plot) and docs/security.md's checkov skip table; check every docs link
docs: $(DEV)
	$(BIN)/python -m tooling docs

## constraints: re-pin everything from fresh virtualenvs after changing a requirements file
constraints:
	rm -rf build/pin && $(PYTHON) -m venv build/pin/dev && $(PYTHON) -m venv build/pin/scan
	build/pin/dev/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	build/pin/scan/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	{ echo "# pip freeze of a fresh .venv with requirements-dev.txt (make constraints)."; \
	  build/pin/dev/bin/python -m pip freeze; } > constraints.txt
	{ echo "# pip freeze of a fresh .venv-scan with requirements-scan.txt (make constraints)."; \
	  build/pin/scan/bin/python -m pip freeze; } > constraints-scan.txt
	build/pin/dev/bin/python -m tooling locks write

## locks: write locks/*.txt and policy/requirements.txt: every pin with the sha256 of each of its
## files on PyPI (network); `make constraints` runs it after re-pinning
locks: $(DEV)
	$(BIN)/python -m tooling locks write

clean:
	rm -rf $(VENV) .venv-scan build .pytest_cache .mypy_cache .ruff_cache
