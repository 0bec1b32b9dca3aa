# The commands the README gives. Each target creates .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STACK  ?= staging
# render: the parent folder of the renders (default build/render); diff: the report file.
OUT    ?=
# check: a folder of CRD YAML files to validate the custom resources against (e.g. kubectl get crd -o yaml)
CRDS   ?=
# diff: the git ref to compare the working tree with (default: the merge base of HEAD with origin/main,
# else main; else HEAD),
# or a stack to compare STACK with; FORMAT=markdown for a pull request comment.
BASE    ?=
AGAINST ?=
FORMAT  ?= text

# Python keeps the bytecode of what it imports. uv installs without it (pip compiles at install), and
# where PYTHONDONTWRITEBYTECODE is set every process would compile the Pulumi SDK and providers again:
# 15 s of CPU for one render on a fresh install instead of 5.5 s. Compiled on first import, once.
export PYTHONDONTWRITEBYTECODE :=

RUNTIME := $(VENV)/.runtime-installed
DEV     := $(VENV)/.dev-installed
# checkov and zizmor have a virtualenv of their own: checkov's pins conflict with the Pulumi SDK's.
SCAN    := .venv-scan/.installed
# simulate: the workload and the built-in load scenario (spike, ramp, daily, flash)
WORKLOAD ?= backend
SCENARIO ?= spike

# simulate: a load trace CSV instead of SCENARIO; PLOT=FILE.png writes the plot, OUT=FILE.csv the timeline
TRACE    ?=
PLOT     ?=

# The variables the targets read. Each may be given in lower case too (make preview stack=production);
# any other variable on the command line is refused, since nothing would read it.
VARIABLES := PYTHON STACK OUT CRDS BASE AGAINST FORMAT WORKLOAD SCENARIO TRACE PLOT DOWNTIME ONLY SAMPLE RETEST BATCHES JOBS MAX UPGRADE UV
lc = $(subst A,a,$(subst B,b,$(subst C,c,$(subst D,d,$(subst E,e,$(subst F,f,$(subst G,g,$(subst H,h,$(subst \
	I,i,$(subst J,j,$(subst K,k,$(subst L,l,$(subst M,m,$(subst N,n,$(subst O,o,$(subst P,p,$(subst Q,q,$(subst \
	R,r,$(subst S,s,$(subst T,t,$(subst U,u,$(subst V,v,$(subst W,w,$(subst X,x,$(subst Y,y,$(subst Z,z,$(1)))))))))))))))))))))))))))
GIVEN   := $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v)))
UNKNOWN := $(strip $(filter-out $(VARIABLES) $(call lc,$(VARIABLES)),$(GIVEN)))
ifneq ($(UNKNOWN),)
$(error unknown variable $(firstword $(UNKNOWN)): the Makefile reads $(VARIABLES) (or the same in lower case))
endif
BOTH    := $(strip $(foreach v,$(VARIABLES),$(if $(filter $(v),$(GIVEN)),$(filter $(call lc,$(v)),$(GIVEN)))))
ifneq ($(BOTH),)
$(error $(firstword $(BOTH)) is given twice, in upper and lower case: give it once)
endif
$(foreach v,$(VARIABLES),$(if $(filter $(call lc,$(v)),$(GIVEN)),$(eval override $(v) := $$($(call lc,$(v))))))

# STACK set on the command line (or in the environment) limits check and diff to that stack;
# otherwise they cover every stack.
ONE_STACK = $(if $(filter command line environment override,$(origin STACK)),--stack $(STACK))
OUT_ARG   = $(if $(OUT),--out $(OUT))

.PHONY: install preview prerequisites render check diff simulate downtime kubeconfig test lint docs locks clean mutation

# uv creates the virtualenvs and installs them from the hashed locks (locks/*.txt, written by
# `make locks`): `uv pip sync --require-hashes` makes each environment exactly its lock and refuses
# any file whose sha256 the lock does not list. The uv on PATH is used; where there is none, the
# one pinned in requirements-uv.txt is installed from PyPI with pip, hash-checked, into build/uv.
UV_PINNED := build/uv/bin/uv
ifndef UV
UV := $(or $(shell command -v uv 2>/dev/null),$(UV_PINNED))
endif
SYNC       = $(UV) pip sync --quiet --require-hashes --python
# $(call venv,DIR): create the virtualenv DIR unless it is there
venv       = test -x $(1)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(1)

$(UV_PINNED): locks/uv.txt
	PIP_ROOT_USER_ACTION=ignore $(PYTHON) -m pip install --quiet --disable-pip-version-check \
		--no-warn-script-location --require-hashes --no-deps --upgrade --target build/uv -r locks/uv.txt
	touch $@

$(RUNTIME): locks/runtime.txt | $(UV)
	$(call venv,$(VENV))
	$(SYNC) $(BIN)/python locks/runtime.txt
	touch $@

# locks/dev.txt holds every entry of locks/runtime.txt (tests/test_locks.py): one sync installs both,
# a few seconds sooner than the runtime lock and then the rest on a fresh clone.
$(DEV): locks/runtime.txt locks/dev.txt | $(UV)
	$(call venv,$(VENV))
	$(SYNC) $(BIN)/python locks/dev.txt
	touch $(RUNTIME) $@

$(SCAN): locks/scan.txt | $(UV)
	$(call venv,.venv-scan)
	$(SYNC) .venv-scan/bin/python locks/scan.txt
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
## CRDS=DIR also validates every custom resource against the CRD YAML files in DIR; then the zero-downtime
## model on the same stacks
check: $(DEV)
	$(BIN)/python -m offline render --check $(or $(ONE_STACK),--all) $(OUT_ARG) $(if $(CRDS),--crds $(CRDS))
	$(BIN)/python -m offline downtime $(or $(ONE_STACK),--all)

## diff: what the working tree changes against BASE, per stack; or STACK against AGAINST. Exit 0 no
## changes, 1 error, 2 changes, 3 changes of which `pulumi up` would refuse a step
diff: $(RUNTIME)
	$(BIN)/python -m offline diff --format $(FORMAT) $(OUT_ARG) \
		$(if $(AGAINST),--stack $(STACK) --against-stack $(AGAINST),$(ONE_STACK) $(if $(BASE),--base $(BASE)))

## simulate: replay the HPA controller on STACK's WORKLOAD against a built-in SCENARIO (or a TRACE CSV);
## PLOT=FILE.png writes the plot, OUT=FILE.csv the timeline
simulate: $(DEV)
	$(BIN)/python -m offline simulate --stack $(STACK) --workload $(WORKLOAD) \
		$(if $(TRACE),--trace $(TRACE),--scenario $(SCENARIO)) $(OUT_ARG) $(if $(PLOT),--plot $(PLOT))

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
## (default 1). BATCHES=4 runs a SAMPLE in 4 parts, each a stratified share, so a run stopped after
## any part still leaves a stratified sample. Not part of `make test`.
ONLY   ?=
SAMPLE ?=
RETEST ?=
BATCHES ?=
JOBS   ?= 1
MAX    ?=
mutation: $(DEV)
	nice $(BIN)/python -m tooling mutation $(foreach g,$(ONLY),--only '$(g)') $(if $(SAMPLE),--sample $(SAMPLE)) \
		$(if $(RETEST),--retest) $(if $(BATCHES),--batches $(BATCHES)) $(if $(BASE),--changed $(BASE)) $(if $(MAX),--max-mutants $(MAX)) --jobs $(JOBS)

## lint: ruff and mypy
lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/mypy

## docs: regenerate docs/config.md (config reference), docs/simulator.md and docs/images/ (the simulator
## example and its plot), docs/security.md's checkov skip table, docs/downtime.md's delays and
## docs/traffic.md's drain tables and timeline (the zero-downtime model), docs/cli.md (every verb's --help);
## check every docs link
docs: $(DEV)
	$(BIN)/python -m tooling docs

## locks: after changing a requirements file, re-resolve and re-hash every lock with uv: locks/dev.txt
## (requirements-dev.txt), then locks/runtime.txt (requirements.txt) and policy/requirements.txt
## (policy/requirements.in) at dev's versions, locks/scan.txt (requirements-scan.txt; from Python 3.11.5,
## which soupsieve under checkov needs) and locks/uv.txt (requirements-uv.txt), for any platform.
## Versions already locked are kept; UPGRADE=1 takes the newest allowed, UPGRADE='pkg …' those only.
UPGRADE ?=
LOCK = $(UV) pip compile --quiet --universal --generate-hashes --custom-compile-command 'make locks' \
	$(if $(filter 1,$(UPGRADE)),--upgrade,$(foreach p,$(UPGRADE),--upgrade-package $(p)))
locks: | $(UV)
	$(LOCK) --python-version 3.11 requirements-dev.txt -o locks/dev.txt
	$(LOCK) --python-version 3.11 requirements.txt -c locks/dev.txt -o locks/runtime.txt
	$(LOCK) --python-version 3.11 policy/requirements.in -c locks/dev.txt -o policy/requirements.txt
	$(LOCK) --python-version 3.11.5 requirements-scan.txt -o locks/scan.txt
	$(LOCK) --python-version 3.11 requirements-uv.txt -o locks/uv.txt

clean:
	rm -rf $(VENV) .venv-scan build .pytest_cache .mypy_cache .ruff_cache
