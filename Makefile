# community.mimecast: demo, tests and every gate Ansible's collection requirements and Galaxy apply.
#
#   make demo          run examples/demo.yml twice against the simulator (2nd run: changed=0)
#   make test          all gates below, in parallel, with a summary table; non-zero if any failed
#   make sanity | units | integration | coverage | ruff | lint | docs | docsite | extra | changelog |
#        build | importer | ee | awx
#                      one gate (for every ansible-core it runs on), with the same table
#   make gate-units-2.19 (gate-sanity-2.21, gate-integration-2.16, ...)
#                      one gate on one ansible-core, output straight to the terminal;
#                      TARGETS='mimecast_group' (integration) or a test path (units) runs only those;
#                      targets with the alias slow: make gate-integration-slow-2.19 TARGETS=mimecast_group_soak
#   make bench         every benchmarks/bench_*.py (prints figures, never fails on one); BENCH_ARGS='-n 30'
#   make clean         remove .build/ (copies, logs, tarball); make distclean also removes .venv/ and .nox/
#
# Each gate is a nox session (noxfile.py, antsibull-nox.toml; docs/development.md maps them). The
# Makefile installs nox itself into .venv/nox; nox builds each session's environment under .nox/
# from the pinned files in tests/ci/requirements/ and reuses it. tests/ci/run_gates.py runs the
# gates two at a time and prints the table.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

# Any Python 3.9+ to run the helper scripts and create the environments.
PYTHON ?= python3
# Gates running at once in `make test` (the machine has 2 cores), and the time after which one is stopped: at
# least twice the longest gate's time on a busy machine (docs/development.md has the figures), so that a slow
# machine does not fail a run, while a gate that hangs still ends well inside CI's 90 minutes.
CI_JOBS ?= 2
GATE_TIMEOUT ?= 2700

# ansible-core version:Python version. Units run on each entry.
MATRIX := 2.16:3.11 2.17:3.11 2.18:3.11 2.19:3.11 2.20:3.12 2.21:3.12
# Integration runs on the oldest, the tools' and the newest ansible-core: the releases in between add no code
# path the ends do not (units, which import every plugin and exercise the action plugin's API, still run on all
# six). `make gate-integration-2.17` runs one in between by hand.
INTEGRATION_CORES := 2.16 2.19 2.21
# Sanity runs with the newest ansible-core for each Python.
SANITY_CORES := 2.19 2.21
# The AWX jobs (ansible-runner, tests/ci/awx_jobs.py) run on the tools' and the newest ansible-core.
AWX_CORES := 2.19 2.21
# The newest ansible-core on Python 3.11: the demo, the linters and the build use it.
TOOLS_CORE := 2.19
# The one ansible-core whose integration runs every target (those with the alias `slow` in their aliases file
# too) with both credential kinds, and whose units and integration (but the slow targets) measure coverage. The
# other integration cores run the other targets with one credential kind each, in turn, and without coverage,
# which slows a module task two- to threefold.
FULL_CORE := $(TOOLS_CORE)
# module_utils line coverage below this fails the coverage gate.
COVERAGE_MINIMUM := 95

VENV := .venv
BUILD := .build
NOX_VENV := $(VENV)/nox
CI := $(CURDIR)/tests/ci
CORES := $(foreach entry,$(MATRIX),$(firstword $(subst :, ,$(entry))))

# ansible-test --venv and nox look for pythonX.Y on PATH: make every Python that pyenv has visible.
ifneq ($(shell command -v pyenv 2>/dev/null),)
PYENV_VERSION ?= $(shell { pyenv version-name; pyenv versions --bare | grep -E '^3\.[0-9]+\.[0-9]+$$'; } 2>/dev/null | paste -sd:)
export PYENV_VERSION
endif
export ANSIBLE_NOCOLOR := 1
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0

# nox's own environment first on PATH: its shellcheck is the one sanity's shellcheck test finds.
NOX_PATH = PATH="$(CURDIR)/$(NOX_VENV)/bin:$$PATH"
NOX = env $(NOX_PATH) $(NOX_VENV)/bin/nox --reuse-venv=yes --nocolor -s
# The sessions of one ansible-core take "ansible-core X.Y.*" from antsibull-nox: the file pins the release.
NOX_CORE = env PIP_CONSTRAINT="$(CURDIR)/tests/ci/requirements/core-$*.txt" $(NOX_PATH) \
	$(NOX_VENV)/bin/nox --reuse-venv=yes --nocolor -s
checked = $(PYTHON) $(CI)/run_checked.py

RUN_GATES = $(PYTHON) $(CI)/run_gates.py --jobs $(CI_JOBS) --timeout $(GATE_TIMEOUT) \
	--matrix '$(MATRIX)' --sanity '$(SANITY_CORES)' --integration '$(INTEGRATION_CORES)' --demo-core $(TOOLS_CORE) \
	--full-core $(FULL_CORE) --awx '$(AWX_CORES)'

GATES := sanity units integration coverage ruff lint docs docsite extra changelog build importer ee awx
CORE_GATES := $(foreach prefix,gate-sanity gate-units gate-integration,$(addprefix $(prefix)-,$(CORES))) \
	gate-coverage-$(FULL_CORE) gate-integration-slow-$(FULL_CORE) $(addprefix gate-awx-,$(AWX_CORES))
.PHONY: help test demo bench clean distclean venv-nox $(GATES) $(CORE_GATES) gate-ruff gate-lint gate-docs \
	gate-docsite gate-extra gate-changelog gate-build gate-importer gate-ee gate-demo

help:
	@sed -n '1,/^$$/p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'

test:
	@$(RUN_GATES) all

$(GATES):
	@$(RUN_GATES) $@

demo: gate-demo

bench: venv-nox
	@$(NOX) bench -- $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) tests/output

distclean: clean
	rm -rf $(VENV) .nox

venv-nox: $(NOX_VENV)/.ci-stamp
$(NOX_VENV)/.ci-stamp: tests/ci/requirements/nox.txt
	rm -rf $(NOX_VENV)
	$(PYTHON) -m venv $(NOX_VENV)
	$(NOX_VENV)/bin/pip install --disable-pip-version-check -r $<
	touch $@

# ---------------------------------------------------------------------------------------------
# Gates on one ansible-core

# No entry in tests/sanity/ignore-*.txt is allowed. Any warning fails it (a skipped test is one),
# except ansible-test's note that the machine has no en_US.UTF-8 locale, the recap that repeats
# warnings, pip's about this machine's index list, and `ansible-test env`'s that there is no docker.
$(addprefix gate-sanity-,$(CORES)): gate-sanity-%: venv-nox
	@if grep -nvE '^[[:space:]]*(#|$$)' tests/sanity/ignore-*.txt 2>/dev/null; then \
		echo "sanity: the entries above in tests/sanity/ignore-*.txt are not allowed: fix the findings instead" >&2; \
		exit 1; fi
	@$(checked) --forbid '^WARNING: (?!Using locale "C\.UTF-8"|Reviewing previous|Location .* is ignored|Command "docker info)' \
		-- $(NOX_CORE) sanity-$*

# ansible-test maps pytest's "no tests ran" to success: require a passing test in the output.
$(addprefix gate-units-,$(CORES)): gate-units-%: venv-nox
	@$(checked) --require '^=+ .*\b[1-9][0-9]* passed\b' --forbid 'All targets skipped|no tests ran' \
		--forbid '^WARNING: Skipping unit tests' -- $(NOX_CORE) units-$* $(if $(TARGETS),-- $(TARGETS))

# The session starts the simulator around ansible-test (tests/ci/simulator.py); targets with the
# alias `slow` run on FULL_CORE only.
$(addprefix gate-integration-,$(CORES)): gate-integration-%: venv-nox
	@$(checked) --require '^Running \S+ integration test (role|script)' --forbid 'All targets skipped' \
		-- $(NOX_CORE) integration-$* $(if $(TARGETS),-- $(TARGETS))

# The targets with the alias `slow`, on FULL_CORE only: a gate of their own beside gate-integration-X.Y, so
# that the two halves run on the two workers and each stays well inside GATE_TIMEOUT.
gate-integration-slow-$(FULL_CORE): gate-integration-slow-%: venv-nox
	@$(checked) --require '^Running \S+ integration test (role|script)' --forbid 'All targets skipped' \
		-- $(NOX_CORE) integration-slow-$* -- $(or $(TARGETS),slow/)

# Units and integration (but the slow targets) of FULL_CORE export their coverage data to .build/coverage-X.Y.
gate-coverage-$(FULL_CORE): gate-coverage-%: venv-nox
	@$(NOX_CORE) coverage-$*

# ---------------------------------------------------------------------------------------------
# Gates independent of the ansible-core matrix

# CI=true: antsibull-nox's formatters session checks (ruff format --check) instead of rewriting.
gate-ruff: venv-nox
	@CI=true $(NOX) formatters codeqa antsibull-nox-config

gate-lint: venv-nox
	@$(NOX) ansible-lint

gate-docs: venv-nox
	@$(NOX) docs-check

gate-docsite: venv-nox
	@$(NOX) docsite

gate-extra: venv-nox
	@$(NOX) extra-checks

gate-changelog: venv-nox
	@$(NOX) changelog

gate-build: venv-nox
	@$(NOX) build

# Galaxy's own checks on a tarball antsibull-nox builds; the session only warns on the importer's
# errors, and its warnings fail the gate too.
gate-importer: venv-nox
	@$(checked) --forbid '^\s*(WARNING|ERROR|CRITICAL)\b|Traceback|non-fatal error' \
		--require 'Importer processing completed successfully' -- $(NOX) build-import-check

# The AWX guide's playbooks as AWX jobs (ansible-runner), with the guide's credential types; nothing secret
# may be in what the jobs leave.
$(addprefix gate-awx-,$(AWX_CORES)): gate-awx-%: venv-nox
	@$(checked) --require '^awx_jobs: 4 jobs as AWX runs them' -- $(NOX_CORE) awx-$*

gate-ee: venv-nox
	@$(NOX) ee

gate-demo: venv-nox
	@$(NOX) demo
