# community.mimecast: demo, tests and every gate Ansible's collection requirements and Galaxy apply.
#
#   make demo          run examples/demo.yml twice against the simulator (2nd run: changed=0)
#   make test          every gate, two at a time, with a summary table; non-zero if any failed
#   make sanity | units | integration | coverage | ruff | lint | docs | docsite | extra | changelog |
#        build | importer | ee | awx
#                      the gates of one kind (for every ansible-core it runs on), with the same table
#   make gate-units-2.19 (gate-sanity-2.21, gate-integration-2.16, gate-<any nox session>)
#                      one gate, output straight to the terminal;
#                      TARGETS='mimecast_group' (integration) or a test path (units) runs only those;
#                      targets with the alias slow: make gate-integration-slow-2.19 TARGETS=mimecast_group_soak
#   make bench         every benchmarks/bench_*.py (prints figures, never fails on one); BENCH_ARGS='-n 30'
#   make clean         remove .build/ (copies, logs, tarball); make distclean also removes .venv/ and .nox/
#
# Each gate is a nox session tagged `gate` (noxfile.py, antsibull-nox.toml, which holds the ansible-core matrix;
# docs/development.md maps them). The Makefile installs nox itself into .venv/nox; nox builds each session's
# environment under .nox/ from the pinned files in tests/ci/requirements/ and reuses it. What the Makefile adds to
# nox: two gates at a time (make -j), a time limit per gate, the checks of a gate's output that its tools' exit
# codes miss (tests/ci/run_checked.py), and the table.

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

VENV := .venv
BUILD := .build
LOGS := $(BUILD)/logs
NOX_VENV := $(VENV)/nox

# ansible-test --venv and nox look for pythonX.Y on PATH: make every Python that pyenv has visible.
ifneq ($(shell command -v pyenv 2>/dev/null),)
PYENV_VERSION ?= $(shell { pyenv version-name; pyenv versions --bare | grep -E '^3\.[0-9]+\.[0-9]+$$'; } 2>/dev/null | paste -sd:)
export PYENV_VERSION
endif
export ANSIBLE_NOCOLOR := 1
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0

# nox's own environment first on PATH: its shellcheck is the one sanity's shellcheck test finds.
NOX = env PATH="$(CURDIR)/$(NOX_VENV)/bin:$$PATH" $(NOX_VENV)/bin/nox --reuse-venv=yes --nocolor
# The sessions with a tag, in the order nox lists them (noxfile.py defines the longest first).
NOX_SESSIONS = $(NOX) -l --json -t $(1) | $(PYTHON) -c 'import json, sys; print(*(s["session"] for s in json.load(sys.stdin)))'

GROUPS := sanity units integration coverage ruff lint docs docsite extra changelog build importer ee awx
.PHONY: help test demo bench clean distclean venv-nox $(GROUPS)

help:
	@sed -n '1,/^$$/p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'

# Every gate of the tag, CI_JOBS at a time, each a make target of its own (gate-<session>, below), whatever the
# others' results (-k); then one line per gate (and per prerequisite it ran: build for ee, units and integration
# for coverage), in the order they ended: result and seconds. A gate never started (its prerequisite failed) is
# NOT-RUN, which fails the run like FAIL and TIMEOUT.
test $(GROUPS): venv-nox
	@rm -rf $(LOGS); mkdir -p $(LOGS); begin=$$(date +%s); \
	sessions="$$($(call NOX_SESSIONS,$(if $(filter test,$@),gate,$@)))"; [ -n "$$sessions" ] || exit 1; \
	echo "$@: $$(wc -w <<< "$$sessions") gates, $(CI_JOBS) at a time; logs in $(LOGS)/"; \
	$(MAKE) --no-print-directory -k -j$(CI_JOBS) GATE_LOG=1 $$(printf 'gate-%s ' $$sessions) || true; \
	{ cat $(LOGS)/results 2>/dev/null || true; for session in $$sessions; do \
		grep -q "^$$session " $(LOGS)/results 2>/dev/null || echo "$$session NOT-RUN -"; done; } > $(LOGS)/table; \
	echo; { echo "gate result seconds"; cat $(LOGS)/table; echo "total - $$(( $$(date +%s) - begin ))"; } | column -t; \
	passed=$$(grep -c ' PASS ' $(LOGS)/table || true); \
	echo "gates: $$passed passed, $$(( $$(wc -l < $(LOGS)/table) - passed )) failed"; \
	[ "$$passed" -eq "$$(wc -l < $(LOGS)/table)" ]

demo: gate-demo

bench: venv-nox
	@$(NOX) -s bench -- $(BENCH_ARGS)

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
# One gate: gate-<nox session>

# The session of gate-<session>, and the ansible-core its name ends with, if any: tests/ci/requirements/core-X.Y.txt
# pins the release (antsibull-nox asks for "ansible-core X.Y.*"; --requirements installs are held to it too).
session = $(@:gate-%=%)
constraint = $(wildcard $(CURDIR)/tests/ci/requirements/core-$(lastword $(subst -, ,$(session))).txt)

# The session, checked by run_checked.py, stopped (with everything it started) after GATE_TIMEOUT. Its output goes
# to the terminal, or, in `make test` (GATE_LOG=1), to $(LOGS)/<session>.log, whose end is shown if it fails.
# Either way one line goes to $(LOGS)/results for the table.
define GATE
@mkdir -p $(LOGS); begin=$$(date +%s); \
run() { timeout -k 30 $(GATE_TIMEOUT) env $(if $(constraint),PIP_CONSTRAINT=$(constraint)) \
	$(PYTHON) tests/ci/run_checked.py $(CHECKS) -- $(NOX) -s $(session) $(POSARGS); }; \
if [ -n "$(GATE_LOG)" ]; then echo "start   $(session)"; run > $(LOGS)/$(session).log 2>&1; \
else run 2>&1 | tee $(LOGS)/$(session).log; fi && result=PASS || { [ $$? = 124 ] && result=TIMEOUT || result=FAIL; }; \
seconds=$$(( $$(date +%s) - begin )); echo "$(session) $$result $$seconds" >> $(LOGS)/results; \
echo "$$result $(session) ($${seconds}s)"; \
if [ $$result != PASS ] && [ -n "$(GATE_LOG)" ]; then echo "---- end of $(LOGS)/$(session).log ----"; \
	tail -n 150 $(LOGS)/$(session).log; echo "----"; fi; \
[ $$result = PASS ]
endef

gate-%: venv-nox
	$(GATE)

# ansible-test exits 0 on "no tests ran" (pytest's status 5), on every target skipped, and on a skipped sanity test
# (a warning): a gate fails on them. Sanity allows no warning but ansible-test's notes that the machine has no
# en_US.UTF-8 locale and no docker, its recap of warnings, and pip's about this machine's index list.
gate-sanity-%: CHECKS = --forbid '^WARNING: (?!Using locale "C\.UTF-8"|Reviewing previous|Location .* is ignored|Command "docker info)'
gate-units-%: CHECKS = --require '^=+ .*\b[1-9][0-9]* passed\b' --forbid 'All targets skipped|no tests ran' \
	--forbid '^WARNING: Skipping unit tests'
gate-units-%: POSARGS = $(if $(TARGETS),-- $(TARGETS))
gate-integration-%: CHECKS = --require '^Running \S+ integration test (role|script)' --forbid 'All targets skipped'
gate-integration-%: POSARGS = $(if $(TARGETS),-- $(TARGETS))
# galaxy-importer exits 0 after warnings, and the session only warns on its errors: its warnings fail the gate.
gate-build-import-check: CHECKS = --forbid '^\s*(WARNING|ERROR|CRITICAL)\b|Traceback|non-fatal error' \
	--require 'Importer processing completed successfully'
gate-awx-%: CHECKS = --require '^awx_jobs: 4 jobs as AWX runs them'
# antsibull-nox's formatters session checks (ruff format --check) instead of rewriting in CI.
gate-formatters: export CI = true

# Coverage reads what units and integration of its ansible-core exported; ee the tarball that build leaves.
gate-coverage-%: venv-nox | gate-units-% gate-integration-%
	$(GATE)
gate-ee: venv-nox | gate-build
	$(GATE)
