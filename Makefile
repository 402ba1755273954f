# community.mimecast: demo, tests and every gate Ansible's collection requirements and Galaxy apply.
#
#   make demo          run examples/demo.yml twice against the simulator (2nd run: changed=0)
#   make test          all gates below, in parallel, with a summary table; non-zero if any failed
#   make sanity | units | integration | coverage | ruff | lint | docs | changelog | build | importer | ee
#                      one gate (for every ansible-core it runs on), with the same table
#   make gate-units-2.19 (gate-sanity-2.21, gate-integration-2.16, ...)
#                      one gate on one ansible-core, output straight to the terminal
#   make bench         benchmarks/bench_group_vs_uri.py: mimecast_group vs ansible.builtin.uri (prints, never fails on a figure)
#   make clean         remove .build/ (copies, logs, tarball); make distclean also removes .venv/
#
# Everything is installed by the Makefile itself into virtual environments under .venv/, which
# are reused for as long as their requirement files (tests/ci/requirements/) do not change.
# ansible-test and the other tools run on copies of the collection under .build/.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

# Any Python 3.9+ to run the helper scripts and create the environments.
PYTHON ?= python3
# Gates running at once in `make test` (the machine has 2 cores), and the time after which one is stopped.
CI_JOBS ?= 2
GATE_TIMEOUT ?= 1500

# ansible-core version:Python version. Units, integration and coverage run on each entry.
MATRIX := 2.16:3.11 2.17:3.11 2.18:3.11 2.19:3.11 2.20:3.12 2.21:3.12
# Sanity runs with the newest ansible-core for each Python.
SANITY_CORES := 2.19 2.21
# The newest ansible-core on Python 3.11: the demo, the linters and the build use it.
TOOLS_CORE := 2.19
# module_utils line coverage below this fails the coverage gate.
COVERAGE_MINIMUM := 95
# Integration targets with the alias `slow` (in their aliases file) run on this ansible-core only.
SLOW_TARGETS_CORE := $(TOOLS_CORE)

VENV := .venv
BUILD := .build
COLLECTION := ansible_collections/community/mimecast
DIST := $(BUILD)/dist
TOOLS := $(CURDIR)/$(VENV)/tools/bin
IMPORTER := $(CURDIR)/$(VENV)/importer/bin
CI := $(CURDIR)/tests/ci

CORES := $(foreach entry,$(MATRIX),$(firstword $(subst :, ,$(entry))))
python_of = $(word 2,$(subst :, ,$(filter $(1):%,$(MATRIX))))
# The environment of one ansible-core: its venv first on PATH, so `python3.X` is the venv's.
core_path = PATH="$(CURDIR)/$(VENV)/core-$(1)/bin:$$PATH"
# A fresh (--clean) or synchronised copy of the collection; prints its path.
stage = $(PYTHON) $(CI)/stage.py $(BUILD)/$(1)
checked = $(PYTHON) $(CI)/run_checked.py

export ANSIBLE_NOCOLOR := 1
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0

RUN_GATES = $(PYTHON) $(CI)/run_gates.py --jobs $(CI_JOBS) --timeout $(GATE_TIMEOUT) \
	--matrix '$(MATRIX)' --sanity '$(SANITY_CORES)' --demo-core $(TOOLS_CORE)

GATES := sanity units integration coverage ruff lint docs changelog build importer ee
# One target per ansible-core of MATRIX (static pattern rules, so that they can be phony).
CORE_TARGETS := $(foreach prefix,venv-core gate-sanity gate-units gate-integration gate-coverage,\
	$(addprefix $(prefix)-,$(CORES)))
.PHONY: help test demo bench clean distclean $(GATES) venv-tools venv-importer $(CORE_TARGETS) \
	gate-ruff gate-lint gate-docs gate-changelog gate-build gate-importer gate-ee gate-demo

help:
	@sed -n '1,/^$$/p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'

test:
	@$(RUN_GATES) all

$(GATES):
	@$(RUN_GATES) $@

demo: gate-demo

bench: venv-core-$(TOOLS_CORE)
	@$(PYTHON) benchmarks/bench_group_vs_uri.py --ansible-playbook $(VENV)/core-$(TOOLS_CORE)/bin/ansible-playbook $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) tests/output

distclean: clean
	rm -rf $(VENV)

# ---------------------------------------------------------------------------------------------
# Environments

$(addprefix venv-core-,$(CORES)): venv-core-%:
	@$(PYTHON) $(CI)/venv.py $(VENV)/core-$* --python $(call python_of,$*) \
		-r tests/ci/requirements/core-$*.txt -r requirements.txt --ansible-test-requirements
	@# ansible-test bootstraps pip into the venvs it creates with a script it cannot download here.
	@$(PYTHON) $(CI)/place_get_pip.py $(VENV)/core-$*

venv-tools:
	@$(PYTHON) $(CI)/venv.py $(VENV)/tools --python 3.11 -r tests/ci/requirements/tools.txt

venv-importer:
	@$(PYTHON) $(CI)/venv.py $(VENV)/importer --python 3.11 -r tests/ci/requirements/importer.txt

# ---------------------------------------------------------------------------------------------
# Gates on one ansible-core

# No entry in tests/sanity/ignore-*.txt is allowed. Any warning fails it (a skipped test is one),
# except ansible-test's note that the machine has no en_US.UTF-8 locale, the recap that repeats
# warnings, and pip's about this machine's index list.
$(addprefix gate-sanity-,$(CORES)): gate-sanity-%: venv-core-%
	@if grep -nvE '^[[:space:]]*(#|$$)' tests/sanity/ignore-*.txt 2>/dev/null; then \
		echo "sanity: the entries above in tests/sanity/ignore-*.txt are not allowed: fix the findings instead" >&2; \
		exit 1; fi
	@cd "$$($(call stage,sanity-$*) --clean)" && $(call core_path,$*) \
		$(checked) --forbid '^WARNING: (?!Using locale "C\.UTF-8"|Reviewing previous|Location .* is ignored)' \
		-- ansible-test sanity --python $(call python_of,$*) --color no

# ansible-test maps pytest's "no tests ran" to success: require a passing test in the output.
$(addprefix gate-units-,$(CORES)): gate-units-%: venv-core-%
	@cd "$$($(call stage,core-$*) --clean)" && $(call core_path,$*) \
		$(checked) --require '^=+ .*\b[1-9][0-9]* passed\b' --forbid 'All targets skipped|no tests ran' \
		--forbid '^WARNING: Skipping unit tests' \
		-- ansible-test units --python $(call python_of,$*) --coverage --color no

# Keeps the copy's tests/output, so the coverage gate sees units and integration together.
# A target whose aliases file has a line `slow` runs on SLOW_TARGETS_CORE only. ansible-test
# refuses an --exclude that matches no target, hence the look at the aliases files first.
slow_exclude = $(if $(filter-out $(SLOW_TARGETS_CORE),$(1)),$(if $(shell grep -lx 'slow' \
	tests/integration/targets/*/aliases 2>/dev/null),--exclude slow/))
$(addprefix gate-integration-,$(CORES)): gate-integration-%: venv-core-%
	@cd "$$($(call stage,core-$*))" && $(call core_path,$*) \
		python3 $(CI)/simulator.py --integration-config tests/integration/integration_config.yml -- \
		$(checked) --require '^Running \S+ integration test role' --forbid 'All targets skipped' \
		-- ansible-test integration --python $(call python_of,$*) --coverage --color no $(call slow_exclude,$*)

$(addprefix gate-coverage-,$(CORES)): gate-coverage-%: venv-core-%
	@cd "$(BUILD)/core-$*/$(COLLECTION)" && $(call core_path,$*) \
		python3 $(CI)/coverage_check.py --minimum $(COVERAGE_MINIMUM)

# ---------------------------------------------------------------------------------------------
# Gates independent of the ansible-core matrix

gate-ruff: venv-tools
	@status=0; \
	$(TOOLS)/ruff check plugins tests || status=1; \
	$(TOOLS)/ruff format --check --diff plugins tests || status=1; \
	exit $$status

# ansible-lint finds the collection under test through the copy's collections root.
gate-lint: venv-tools
	@cd "$$($(call stage,lint) --clean)" && PATH="$(TOOLS):$$PATH" \
		ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/$(BUILD)/lint" ansible-lint --profile production --offline --nocolor

gate-docs: venv-tools
	@cd "$$($(call stage,docs) --clean)" && PATH="$(TOOLS):$$PATH" \
		antsibull-docs lint-collection-docs --plugin-docs .

gate-changelog: venv-tools
	@cd "$$($(call stage,changelog) --clean)" && status=0 && \
		{ $(TOOLS)/antsibull-changelog lint || status=1; } && \
		{ $(TOOLS)/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml || status=1; } && \
		exit $$status

# Built from the work tree itself, so that build_ignore is what keeps .venv, .build & co. out.
gate-build: venv-tools
	@rm -rf $(DIST) && mkdir -p $(DIST)
	@PATH="$(TOOLS):$$PATH" ansible-galaxy collection build --force --output-path $(DIST) .
	@$(PYTHON) $(CI)/check_tarball.py $(DIST)/community-mimecast-*.tar.gz

# Galaxy's own checks on the tarball; its warnings fail the gate too.
# It writes importer_result.json into the current directory: run it in .build/importer.
gate-importer: venv-importer
	@rm -rf $(BUILD)/importer && mkdir -p $(BUILD)/importer/tmp
	@tarball="$$(ls $(CURDIR)/$(DIST)/community-mimecast-*.tar.gz)" && cd $(BUILD)/importer && \
		PATH="$(IMPORTER):$$PATH" GALAXY_IMPORTER_CONFIG=$(CI)/galaxy-importer.cfg \
		GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP=$(CURDIR)/$(BUILD)/importer/tmp \
		GALAXY_IMPORTER_TMP_ROOT_DIR=$(CURDIR)/$(BUILD)/importer/tmp \
		$(checked) --forbid '^(WARNING|ERROR|CRITICAL)\b|Traceback' \
		--require '^Importer processing completed successfully' \
		-- python -m galaxy_importer.main "$$tarball"

# ansible-builder create on the example EE definition, then builder's introspection of the
# installed tarball must find the collection's Python requirements (meta/execution-environment.yml).
gate-ee: venv-tools
	@rm -rf $(BUILD)/ee && mkdir -p $(BUILD)/ee
	@cp tests/ci/execution-environment.example.yml $(BUILD)/ee/execution-environment.yml
	@cd $(BUILD)/ee && $(TOOLS)/ansible-builder create --file execution-environment.yml --context context \
		--output-filename Containerfile
	@test -s $(BUILD)/ee/context/Containerfile
	@$(TOOLS)/ansible-galaxy collection install --offline -p $(BUILD)/ee/collections $(DIST)/community-mimecast-*.tar.gz
	@$(TOOLS)/ansible-builder introspect --sanitize --write-pip $(BUILD)/ee/requirements.txt $(BUILD)/ee/collections
	@grep -E '^requests\b.*community\.mimecast' $(BUILD)/ee/requirements.txt \
		|| { echo "ee: requests is not among the collection's EE requirements" >&2; exit 1; }

gate-demo: venv-core-$(TOOLS_CORE)
	@$(VENV)/core-$(TOOLS_CORE)/bin/python $(CI)/demo.py
