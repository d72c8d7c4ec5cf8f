# mlkit: the README's commands. Every target installs what it needs first.
SHELL := /bin/bash
ENV ?= dev
DELIVERY ?= config/delivery.yaml
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := npx --no-install cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# Every Python process a target starts (make local's CLI, the emulator, cost, plan) keeps bytecode in
# .cache/pycache, as app.py does (stacks/bytecode.py), even where PYTHONDONTWRITEBYTECODE is set: else each
# compiles aws-cdk from source again (~1 s per process that imports it). Never beside the sources.
export PYTHONPYCACHEPREFIX := $(CURDIR)/.cache/pycache
unexport PYTHONDONTWRITEBYTECODE

.PHONY: deps images local local-up local-down train invoke test synth deploy diff destroy schema lint bench help \
	bootstrap pipeline oidc workflows jumpstart cost prices scan acceptance plan

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# --no-compile: byte-compiling TensorFlow's and torch's thousands of files took ~50 s of every fresh
	# install; Python compiles what the tests import, once, on first import.
	$(PY) -m pip install --quiet --no-compile -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

deps: $(VENV)/.installed node_modules/.installed

# Java class-data sharing for the local Spark sessions (mlkit/spark_classes.py): make local builds it once
# per install (~25 s); it then takes ~5 s off each Spark start in make local and make test. make test does
# not build it: CI's fresh clones would pay the 25 s and never reuse it. Without it, Spark still runs.
SPARK_CLASSES := .cache/spark-classes.jsa
$(SPARK_CLASSES): $(VENV)/.installed
	$(PY) -m mlkit.spark_classes || echo "mlkit: no Spark class archive; Spark starts without it"

local: deps $(SPARK_CLASSES)  ## deploy the kit into the embedded AWS emulator and run it (the main job)
	$(PY) -m mlkit.local_run --env $(ENV)

local-up: deps $(SPARK_CLASSES)  ## like local, and leave the emulator running to explore
	$(PY) -m mlkit.local_run --env $(ENV) --keep

local-down: deps  ## stop the emulator local-up left running
	$(PY) -m mlkit.local_run --down

train: deps  ## start MODEL's training pipeline in ENV (Glue job first): make train MODEL=churn
	@test -n "$(MODEL)" || { echo "usage: make train MODEL=<training model name> [ENV=dev]"; exit 2; }
	$(PY) -m mlkit.train $(MODEL) --env $(ENV)

invoke: deps  ## call MODEL through ENV's API, SigV4-signed: make invoke MODEL=churn DATA='{"instances": [[1, 2]]}'
	@test -n "$(MODEL)" -a -n "$(DATA)" || { echo "usage: make invoke MODEL=<name> DATA='<json>'|DATA=@<file> [CONTENT_TYPE=image/jpeg] [ACCEPT=image/png] [OUTPUT=<file>] [ENV=dev|URL=...]; models: $(PY) -m mlkit.client list"; exit 2; }
	$(PY) -m mlkit.client invoke $(MODEL) --env $(ENV) --data '$(DATA)' $(if $(CONTENT_TYPE),--content-type '$(CONTENT_TYPE)') $(if $(ACCEPT),--accept '$(ACCEPT)') $(if $(OUTPUT),--output '$(OUTPUT)') $(if $(URL),--url $(URL))

# Bytecode goes to .cache/pycache (never beside the sources, so no asset gains a __pycache__): with
# PYTHONDONTWRITEBYTECODE set, as on this machine, every worker and every subprocess the tests start
# (make local, the app, the emulator) compiled aws-cdk, TensorFlow and torch from source again.
test: deps  ## run the tests (PYTEST_ARGS adds pytest options)
	env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(CURDIR)/.cache/pycache $(PY) -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)

synth: deps  ## synthesize ENV's templates into cdk.out
	$(CDK) synth -q -c env=$(ENV)

# Stage stacks sit in a nested assembly, which --all does not select: name them by pattern. Both synthesize
# once into cdk.out, print the cost estimate's change against what is deployed, then use that assembly.
# mlkit.deploy runs `cdk deploy` deploy.concurrency stacks at once (ENV's config), each progress line naming
# its dependency wave, after one question for all security-sensitive changes (YES=1 answers it).
deploy: deps  ## deploy ENV to the account of your AWS credentials (bootstrap first); prints the cost change
	$(CDK) synth -q -c env=$(ENV)
	$(PY) -m mlkit.cost_report --env $(ENV) --assembly cdk.out --against deployed
	$(PY) -m mlkit.deploy --env $(ENV) --assembly cdk.out $(if $(YES),--yes)

diff: deps  ## show what deploy would change in ENV, and the cost estimate's change
	$(CDK) synth -q -c env=$(ENV)
	$(PY) -m mlkit.cost_report --env $(ENV) --assembly cdk.out --against deployed
	$(CDK) diff --app cdk.out '$(ENV)/*'

destroy: deps  ## delete ENV's stacks (data is kept unless ENV's config says removal: destroy)
	$(CDK) destroy -c env=$(ENV) '$(ENV)/*'

# The first-deployment checklist against the account of your AWS credentials (never the emulator): pipeline
# runs are paid, so it asks first; YES=1 confirms (CI), PIPELINES=0 checks the rest without them.
acceptance: deps  ## after make deploy: call every model, run each pipeline once, read alarms back: make acceptance ENV=dev [YES=1|PIPELINES=0] [URL=...]
	$(PY) -m mlkit.acceptance --env $(ENV) $(if $(YES),--yes) $(if $(filter 0,$(PIPELINES)),--no-pipelines) $(if $(URL),--url $(URL))

bootstrap: deps  ## print (RUN=1: run) cdk bootstrap for ENV's account, or ENV=tooling: make bootstrap ENV=prod
	$(PY) -m mlkit.bootstrap --env $(ENV) --delivery $(DELIVERY) $(if $(RUN),--run)

pipeline: deps  ## deploy the delivery pipeline (mlkit-delivery) to the tooling account of DELIVERY
	$(CDK) deploy -c delivery=$(DELIVERY) mlkit-delivery

oidc: deps  ## deploy ENV's GitHub OIDC provider and roles (mlkit-ENV-oidc) to its account
	$(CDK) deploy -c delivery=$(DELIVERY) mlkit-$(ENV)-oidc

workflows: deps  ## regenerate .github/workflows from DELIVERY
	$(PY) -m mlkit.workflows --delivery $(DELIVERY)

schema: deps  ## regenerate config/mlkit.schema.json and config/delivery.schema.json from the config models
	$(PY) -m stacks.config.schema

images: deps  ## regenerate stacks/images/table.json from the sagemaker SDK's image_uris
	$(PY) -m stacks.images.generate

jumpstart: deps  ## resolve a JumpStart model's spec into sources/jumpstart/specs/: make jumpstart MODEL=id VERSION=x.y.z
	@test -n "$(MODEL)" -a -n "$(VERSION)" || { echo "usage: make jumpstart MODEL=<model id> VERSION=<exact version>"; exit 2; }
	$(PY) -m sources.jumpstart.resolve $(MODEL) $(VERSION)

lint: deps  ## ruff over all Python
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: deps  ## measure synth time (and the other benchmarks) into benchmarks/README.md
	$(PY) benchmarks/synth.py
	$(PY) benchmarks/router.py
	$(PY) benchmarks/catalog_synth.py
	$(PY) benchmarks/delivery_synth.py
	$(PY) benchmarks/source_synth.py
	$(PY) benchmarks/serving.py
	$(PY) benchmarks/operations_synth.py
	$(PY) benchmarks/suite.py

# Like cost: reads cdk.out when it holds ENV's assembly and is newer than ENV's config, else synthesizes once.
plan: deps  ## ENV's stacks in dependency waves and the estimated deploy time: make plan ENV=dev [ALL=1]
	@if [ ! -d cdk.out/assembly-$(ENV) ] || [ config/$(ENV).yaml -nt cdk.out/manifest.json ]; then $(CDK) synth -q -c env=$(ENV); fi
	$(PY) -m mlkit.plan --env $(ENV) --assembly cdk.out $(if $(ALL),--all)

# Reads cdk.out when it holds ENV's assembly and is newer than ENV's config, else synthesizes once first.
cost: deps  ## estimate ENV's cost (idle/month, per 1,000 requests, per run) from config/prices.json: make cost ENV=dev [JSON=1]
	@if [ ! -d cdk.out/assembly-$(ENV) ] || [ config/$(ENV).yaml -nt cdk.out/manifest.json ]; then $(CDK) synth -q -c env=$(ENV); fi
	$(PY) -m mlkit.cost_report --env $(ENV) --assembly cdk.out $(if $(JSON),--json)

# checkov has its own virtualenv: its ~90 pinned dependencies stay out of the kit's and the tests'.
SCAN_VENV := .cache/scan-venv
$(SCAN_VENV)/.installed: requirements-scan.txt
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --no-compile -r requirements-scan.txt
	touch $@

scan: deps $(SCAN_VENV)/.installed  ## checkov over ENV's synthesized templates; accepted finding classes: .checkov.yaml
	$(CDK) synth -q -c env=$(ENV)
	$(SCAN_VENV)/bin/checkov --config-file .checkov.yaml -d cdk.out/assembly-$(ENV)

prices: deps  ## refresh config/prices.json through the AWS Price List API (needs AWS credentials)
	$(PY) -m mlkit.prices
