# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's test sessions: `make test` runs every session tagged `gate`, two at a time (docs/development.md).

antsibull-nox defines the lint, docs, extra, build/import and ansible-lint sessions from antsibull-nox.toml, which
also holds the ansible-core matrix ([sessions.ansible_test_*]). antsibull-nox's own ansible-test sessions need a
container engine, which this machine lacks, so the sessions of that matrix are defined here with
add_ansible_test_session: sanity runs with --venv, units and integration in the session's own environment, which nox
keeps between runs, with --requirements. The integration targets start the Mimecast simulator themselves
(setup_mimecast). The sessions antsibull-nox has no equivalent for are plain nox sessions at the end.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import sys
import tarfile
from fnmatch import fnmatch
from pathlib import Path

import antsibull_nox
import nox
import yaml
from antsibull_nox.ansible import get_supported_core_versions
from antsibull_nox.config import CONFIG_FILENAME, load_config_from_toml
from antsibull_nox.sessions.collections import prepare_collections

ROOT = Path(__file__).resolve().parent
CI = ROOT / "tests" / "ci"
REQUIREMENTS = CI / "requirements"
sys.path.insert(0, str(CI))

import place_get_pip  # noqa: E402 (tests/ci is not a package)
from simulator import Simulator  # noqa: E402

nox.options.default_venv_backend = "venv"
nox.options.download_python = "never"

# The ansible-core matrix: antsibull-nox.toml's [sessions.ansible_test_*], read with antsibull-nox's own reader, the
# releases of each range as antsibull-nox lists them.
CONFIG = load_config_from_toml(ROOT / CONFIG_FILENAME)
ANSIBLE_TEST = {
    "sanity": "ansible_test_sanity",
    "units": "ansible_test_units",
    "integration": "ansible_test_integration_w_default_container",
}
TABLES = {kind: getattr(CONFIG.sessions, field) for kind, field in ANSIBLE_TEST.items()}
MATRIX = {
    kind: [str(core) for core in get_supported_core_versions(
        min_version=table.min_version, max_version=table.max_version, except_versions=tuple(table.except_versions)
    )]
    for kind, table in TABLES.items()
}  # fmt: skip
# The Python of each release: that of its units, and for integration that of its integration.
PYTHON, INTEGRATION_PYTHON = (
    {str(core): str(pythons[0]) for core, pythons in TABLES[kind].core_python_versions.items()}
    for kind in ("units", "integration")
)
INTEGRATION_CORES = MATRIX["integration"]
# Ours, not antsibull-nox's: the ansible-core whose integration runs every target (the `slow` ones too, in a session
# of their own) with both credential kinds, and whose units and integration (but the slow targets) measure coverage;
# its Python runs the demo, the linters, the build and the docs. The AWX jobs run on it and on the newest.
FULL_CORE = "2.19"
AWX_CORES = sorted({FULL_CORE, MATRIX["units"][-1]})
# module_utils line coverage below this fails coverage-<FULL_CORE>.
COVERAGE_MINIMUM = 95
# The credential kinds of the integration targets (setup_mimecast): api1, API 1.0 keys; api2, API 2.0 client.
AUTH_KINDS = ("api1", "api2")


def gate(name: str, *tags: str) -> None:
    """Tag a session as a gate of `make test` (and of `make <tag>`): the Makefile asks nox for the list."""
    nox.registry.get()[name].tags = ["gate", *tags]


def place_get_pip_scripts() -> None:
    """ansible-test bootstraps pip into the venvs it creates (sanity) with a script it cannot download here."""
    venvs = [
        path
        for path in glob.glob(str(ROOT / ".nox" / "*"))
        if glob.glob(f"{path}/lib/python*/site-packages/ansible_test")
    ]
    for venv in venvs:
        for version in place_get_pip.pip_versions(venv):
            place_get_pip.place(version)


def before_sanity() -> None:
    """No entry in tests/sanity/ignore-*.txt is allowed: fix the findings instead. Then the offline get-pip."""
    entries = [
        f"{path}: {line}"
        for path in sorted(glob.glob("tests/sanity/ignore-*.txt"))
        for line in Path(path).read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if entries:
        raise RuntimeError("entries in tests/sanity/ignore-*.txt are not allowed:\n" + "\n".join(entries))
    place_get_pip_scripts()


def coverage_export(core: str) -> Path:
    """Where units and integration of one ansible-core export their coverage data for its coverage session."""
    return ROOT / ".build" / f"coverage-{core}"


def before_ansible_test(core: str, auth_kinds: tuple[str, ...] = ()):
    def callback() -> None:
        # Read by antsibull-nox after ansible-test --coverage: `ansible-test coverage combine --export` here.
        os.environ["ANTSIBULL_NOX_COVERAGE_DESTINATION"] = str(coverage_export(core))
        os.environ["ANTSIBULL_NOX_COVERAGE_NO_XML"] = "true"
        if auth_kinds:  # in the collection copy; the targets start the simulator themselves
            config = {"mimecast_auth_kinds": list(auth_kinds)}
            Path("tests", "integration", "integration_config.yml").write_text(json.dumps(config) + "\n")

    return callback


def drop_ansible_test_tmp() -> None:
    """antsibull-nox copies the copy's tests/output back into the work tree, and fails on the venvs in its .tmp."""
    shutil.rmtree(Path("tests", "output", ".tmp"), ignore_errors=True)


def auth_kinds(core: str, slow: bool = False) -> tuple[str, ...]:
    """The credential kinds the integration targets run with on one ansible-core (mimecast_auth_kinds).

    Both for the slow targets, which run on FULL_CORE only. The other targets run with one kind on each core of
    INTEGRATION_CORES: on the other cores in turn (2.16 API 1.0 keys, 2.21 API 2.0 client), so that every target
    meets each kind on the oldest and the newest core, and on FULL_CORE with the first kind. There they run with
    coverage, which a second kind would double for no line the units do not cover already (the API 2.0 token's
    code runs under coverage in mimecast_token_reuse, which uses API 2.0 on every core; and mimecast_no_secrets
    runs the scenarios of mimecast_group, _members and _tree with both kinds there). Both on a core outside
    INTEGRATION_CORES (run by hand).
    """
    if slow or core not in INTEGRATION_CORES:
        return AUTH_KINDS
    if core == FULL_CORE:
        return AUTH_KINDS[:1]
    others = [other for other in INTEGRATION_CORES if other != FULL_CORE]
    return (AUTH_KINDS[others.index(core) % len(AUTH_KINDS)],)


def has_slow_targets() -> bool:
    aliases = glob.glob(str(ROOT / "tests" / "integration" / "targets" / "*" / "aliases"))
    return any("slow" in Path(path).read_text().split() for path in aliases)


def slow_exclude() -> list[str]:
    """Targets with the alias `slow` run on FULL_CORE only, in a session of their own (integration-slow-X.Y)."""
    return ["--exclude", "slow/"] if has_slow_targets() else []


# Runs the scenarios of other targets (their tasks/scenarios.yml, assertions included) at -vvvv with both credential
# kinds, and then checks that output for secrets. It is a slow target: it runs on FULL_CORE only.
VVVV_TARGET = "mimecast_no_secrets"


def run_at_vvvv() -> list[str]:
    """The targets whose scenarios VVVV_TARGET's playbook includes: on FULL_CORE they do not run a second time.

    Read from the playbook itself (``include_tasks: ../<target>/tasks/scenarios.yml``), so a target whose scenarios
    it stops including runs on its own again. Unless targets were named on the command line (``nox -s
    integration-X.Y -- mimecast_group``, or the Makefile's TARGETS=): then those run, whatever this says.
    """
    playbook = ROOT / "tests" / "integration" / "targets" / VVVV_TARGET / "scenarios.yml"
    if "--" in sys.argv[1:] or not playbook.exists():
        return []
    included = re.findall(r"^\s*ansible\.builtin\.include_tasks:\s*\.\./(\w+)/tasks/scenarios\.yml\s*$",
                          playbook.read_text(), re.M)  # fmt: skip
    return sorted(set(included))


def add_coverage_session(core: str, python: str) -> None:
    """antsibull-nox processes coverage per ansible-test run; the minimum over units and integration is ours."""

    def coverage(session: nox.Session) -> None:
        session.install("-r", str(REQUIREMENTS / f"core-{core}.txt"))
        exported = sorted(coverage_export(core).glob("*=coverage.combined"))
        if not exported:
            session.error(f"no coverage data in {coverage_export(core)}: run units-{core} and integration-{core} first")
        prepared = prepare_collections(
            session, ansible_core_version=core, install_in_site_packages=False, install_out_of_tree=True
        )
        with session.chdir(prepared.current_path):
            data = Path("tests", "output", "coverage")
            data.mkdir(parents=True, exist_ok=True)
            for path in exported:
                shutil.copy(path, data / path.name)
            session.log(f"coverage data: {', '.join(path.name for path in exported)}")
            session.run("python", str(CI / "coverage_check.py"), "--minimum", str(COVERAGE_MINIMUM))

    coverage.__doc__ = f"Line coverage of plugins/ by units and integration together, ansible-core {core}."
    nox.session(name=f"coverage-{core}", python=python, default=False)(coverage)
    gate(f"coverage-{core}", "coverage")


def add_ansible_test(name: str, core: str, what: str, params: list[str], before, after, group: str) -> None:
    """One ansible-test session, built with the matrix's Python (of the release's integration for integration).

    add_ansible_test_session lets nox take the first Python on PATH that the ansible-core supports. Without
    --venv, ansible-test runs with `--python X.Y` wherever python X.Y is first on PATH: the session's own
    environment only if it was built from X.Y (so the Python is pinned here), otherwise the machine's Python,
    into which --requirements would install.
    """
    python = INTEGRATION_PYTHON.get(core, PYTHON[core]) if params[0] == "integration" else PYTHON[core]
    antsibull_nox.add_ansible_test_session(
        name=name,
        description=f"{what}{', with coverage' if '--coverage' in params else ''}, ansible-core {core}",
        ansible_test_params=[params[0], "--python", python, "--color", "no", *params[1:]],
        ansible_core_version=core,
        ansible_core_source="pypi",
        default=False,
        callback_before=before,
        callback_after=after,
    )
    nox.registry.get()[name].python = python
    if group:
        gate(name, group)


# In the order `make test` starts them, longest first, so that its two workers end at about the same time: the
# integration runs (FULL_CORE's in two sessions, the `slow` targets and the others), sanity, units. Integration on an
# ansible-core outside INTEGRATION_CORES is no gate: by hand (make gate-integration-2.17), with both credential kinds.
for core in sorted(MATRIX["units"], key=lambda core: (core != FULL_CORE, core not in INTEGRATION_CORES)):
    group = "integration" if core in INTEGRATION_CORES else ""
    if core == FULL_CORE and has_slow_targets():
        add_ansible_test(
            f"integration-slow-{core}", core, "ansible-test integration, the targets with the alias slow",
            ["integration", "--requirements", *([] if "--" in sys.argv[1:] else ["slow/"])],
            before_ansible_test(core, auth_kinds(core, slow=True)), drop_ansible_test_tmp, group,
        )  # fmt: skip
    # Coverage on FULL_CORE only: it slows every module run of an integration test two- to threefold. The slow
    # targets run without it: they add no line to what the units and the other targets cover (measured: 1,799 of
    # 1,827 module_utils lines either way), and coverage would more than double their time. On FULL_CORE the
    # targets whose scenarios VVVV_TARGET (a slow target) runs at -vvvv do not run again in integration-X.Y.
    once = ["--coverage", *(option for target in run_at_vvvv() for option in ("--exclude", target))]
    add_ansible_test(
        f"integration-{core}", core, "ansible-test integration against the simulator",
        ["integration", "--requirements", *(once if core == FULL_CORE else []), *slow_exclude()],
        before_ansible_test(core, auth_kinds(core)), drop_ansible_test_tmp, group,
    )  # fmt: skip
for core in MATRIX["sanity"]:
    add_ansible_test(
        f"sanity-{core}", core, "ansible-test sanity", ["sanity", "--venv"], before_sanity, drop_ansible_test_tmp,
        "sanity",
    )  # fmt: skip
for core in MATRIX["units"]:
    measure = ["--coverage"] if core == FULL_CORE else []
    add_ansible_test(
        f"units-{core}", core, "ansible-test units", ["units", "--requirements", *measure], before_ansible_test(core),
        drop_ansible_test_tmp, "units",
    )  # fmt: skip


def add_awx_session(core: str) -> None:
    def awx(session: nox.Session) -> None:
        """The AWX guide's playbooks as AWX jobs through ansible-runner, and the scan of what they leave."""
        session.install(
            "-r", str(REQUIREMENTS / f"core-{core}.txt"), "-r", str(REQUIREMENTS / "awx.txt"),
            "-r", str(ROOT / "requirements.txt"),
        )  # fmt: skip
        session.run("python", str(CI / "awx_jobs.py"), *session.posargs)

    nox.session(name=f"awx-{core}", python=PYTHON[core], default=False)(awx)
    gate(f"awx-{core}", "awx")


for core in AWX_CORES:
    add_awx_session(core)

# Every session of antsibull-nox.toml, among them antsibull-nox's own ansible-test sessions of the same matrix
# (ansible-test-sanity-X.Y, ...), which run in a container: for a machine that has an engine. No gate here.
antsibull_nox.load_antsibull_nox_toml()
for name, group in (
    ("formatters", "ruff"), ("codeqa", "ruff"), ("antsibull-nox-config", "ruff"), ("ansible-lint", "lint"),
    ("docs-check", "docs"), ("extra-checks", "extra"), ("build-import-check", "importer"),
):  # fmt: skip
    gate(name, group)


@nox.session(python=PYTHON[FULL_CORE], default=False, tags=["gate", "changelog"])
def changelog(session: nox.Session) -> None:
    """antsibull-changelog lint of the fragments and of changelogs/changelog.yaml."""
    session.install("-r", str(REQUIREMENTS / "changelog.txt"))
    session.run("antsibull-changelog", "lint")
    session.run("antsibull-changelog", "lint-changelog-yaml", "changelogs/changelog.yaml")


# Must not be shipped (paths in the tarball); hidden files at the top are development state but these.
UNSHIPPED = (
    "Makefile", "ruff.toml", "noxfile.py", "antsibull-nox.toml", "tests/output/*", "tests/ci/*", "benchmarks/*",
    "tests/integration/integration_config.yml", "changelogs/.plugin-cache.yaml", "*/__pycache__/*", "*.pyc",
    "*.tar.gz", "importer_result.json",
)  # fmt: skip
SHIPPED_HIDDEN = (".ansible-lint", ".yamllint")
SHIPPED = ("MANIFEST.json", "FILES.json", "meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt")


@nox.session(python=PYTHON[FULL_CORE], default=False, tags=["gate", "build"])
def build(session: nox.Session) -> None:
    """ansible-galaxy collection build of the work tree itself: build_ignore must keep development files out."""
    session.install("-r", str(REQUIREMENTS / "ee.txt"))
    dist = ROOT / ".build" / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("ansible-galaxy", "collection", "build", "--force", "--output-path", str(dist), ".")
    (tarball,) = dist.glob("community-mimecast-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = [member.name.removeprefix("./") for member in archive.getmembers()]
    problems = [f"should not be shipped: {name}" for name in names if any(fnmatch(name, p) for p in UNSHIPPED)]
    problems += [
        f"development file: {name}"
        for name in names
        if name.startswith(".") and name.split("/")[0] not in SHIPPED_HIDDEN
    ]
    problems += [f"missing: {name}" for name in SHIPPED if name not in names]
    if problems:
        session.error(f"{tarball.name}:\n" + "\n".join(problems))
    session.log(f"{tarball.name}: {len(names)} entries, nothing unwanted, nothing missing")


def guide_execution_environment(tarball: str) -> str:
    """The execution-environment.yml the AWX guide shows, with community.mimecast given as the built tarball."""
    sys.path.insert(0, str(ROOT / "tests" / "integration" / "targets" / "mimecast_docs_playbooks"))
    import run_guides  # noqa: PLC0415 (the docs playbooks target's reader of the guides' code blocks)

    guide = (ROOT / "docs" / "docsite" / "rst" / "guide_awx_aap.rst").read_text(encoding="utf-8")
    shown = [content for _line, _lang, content, _named in run_guides.code_blocks(guide)]
    shown = [content for content in shown if content.startswith("# execution-environment.yml")]
    if len(shown) != 1:
        raise RuntimeError(f"guide_awx_aap.rst shows {len(shown)} execution-environment.yml, not one")
    definition = yaml.safe_load(shown[0])
    collections = definition["dependencies"]["galaxy"]["collections"]
    ours = [entry for entry in collections if entry.get("name") == "community.mimecast"]
    if len(ours) != 1:
        raise RuntimeError("the guide's execution-environment.yml does not name community.mimecast once")
    ours[0].clear()
    ours[0].update(name=tarball, type="file")
    return yaml.safe_dump(definition, sort_keys=False)


@nox.session(python=PYTHON[FULL_CORE], default=False, tags=["gate", "ee"])
def ee(session: nox.Session) -> None:
    """ansible-builder create on the AWX guide's EE; its introspection must list no requirement of the collection."""
    session.install("-r", str(REQUIREMENTS / "ee.txt"))
    tarballs = glob.glob(str(ROOT / ".build" / "dist" / "community-mimecast-*.tar.gz"))
    if len(tarballs) != 1:
        session.error("run the build session first: it leaves one tarball in .build/dist")
    work = ROOT / ".build" / "ee"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "execution-environment.yml").write_text(guide_execution_environment(tarballs[0]))
    session.log("the AWX guide's execution-environment.yml, community.mimecast from %s" % tarballs[0])
    with session.chdir(work):
        session.run(
            "ansible-builder",
            "create",
            "--file",
            "execution-environment.yml",
            "--context",
            "context",
            "--output-filename",
            "Containerfile",
        )
        if not (work / "context" / "Containerfile").stat().st_size:
            session.error("ansible-builder wrote an empty Containerfile")
        requirements = (work / "context" / "_build" / "requirements.yml").read_text()
        if tarballs[0] not in requirements:
            session.error("the EE's context does not install community.mimecast from the tarball:\n" + requirements)
        session.run("ansible-galaxy", "collection", "install", "--offline", "-p", "collections", tarballs[0])
        session.run("ansible-builder", "introspect", "--sanitize", "--write-pip", "requirements.txt", "collections")
    introspected = work / "requirements.txt"  # not written when no collection asks for a Python package
    if introspected.exists() and re.search(r"community\.mimecast", introspected.read_text()):
        session.error("the collection needs no Python package, yet its EE requirements list one")


@nox.session(python=PYTHON[FULL_CORE], default=False, tags=["gate", "demo"])
def demo(session: nox.Session) -> None:
    """examples/demo.yml twice against the simulator: the second run must change nothing."""
    session.install("-r", str(REQUIREMENTS / f"core-{FULL_CORE}.txt"), "-r", str(ROOT / "requirements.txt"))
    collections = ROOT / ".build" / "demo"  # the work tree itself, as ansible_collections/community/mimecast
    link = collections / "ansible_collections" / "community" / "mimecast"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(ROOT)
    # The demo runs on the implicit localhost on purpose: no inventory to warn about.
    env = {"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_LOCALHOST_WARNING": "0"}
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "0"
    with Simulator() as simulator:
        env.update(simulator.environment())
        session.run("ansible-playbook", "examples/demo.yml", env=env)
        second = session.run("ansible-playbook", "examples/demo.yml", env=env, silent=True) or ""
    print(second)
    recap = re.findall(r"^\S+\s*:\s*ok=\d+\s+changed=(\d+)", second, re.M)
    if not recap or any(changed != "0" for changed in recap):
        session.error("the second run of examples/demo.yml is not idempotent (or printed no PLAY RECAP)")


@nox.session(python=PYTHON[FULL_CORE], default=False, tags=["gate", "docsite"])
def docsite(session: nox.Session) -> None:
    """The HTML documentation site (docs/docsite/build.sh fails on an unexpected Sphinx warning), and the
    ecosystem's build of the installed collection (tests/ci/docsite_ecosystem.py: no warning but the offline ones)."""
    script = ROOT / "docs" / "docsite" / "build.sh"
    if not script.exists():
        session.skip("no docs/docsite/build.sh")
    session.install("-r", str(REQUIREMENTS / "docsite.txt"))
    session.run("bash", str(script), str(ROOT / ".build" / "docsite"), external=True)
    # The ecosystem's build of the installed collection, with the packages build.sh installed (if it had to).
    python_path = os.pathsep.join(
        filter(None, (str(ROOT / ".build" / "docsite" / "python"), os.environ.get("PYTHONPATH")))
    )
    session.run(
        "python", str(CI / "docsite_ecosystem.py"), str(ROOT / ".build" / "docsite-ecosystem"),
        env={"PYTHONPATH": python_path},
    )  # fmt: skip


@nox.session(python=PYTHON[FULL_CORE], default=False)
def bench(session: nox.Session) -> None:
    """Every benchmarks/bench_*.py with this session's ansible-playbook (arguments after -- go to each)."""
    session.install("-r", str(REQUIREMENTS / f"core-{FULL_CORE}.txt"), "-r", str(ROOT / "requirements.txt"))
    ansible_playbook = str(Path(session.bin) / "ansible-playbook")
    for script in sorted(glob.glob(str(ROOT / "benchmarks" / "bench_*.py"))):
        session.run("python", script, "--ansible-playbook", ansible_playbook, *session.posargs)


# Last: it reads what units and integration of FULL_CORE exported (the Makefile runs it after them).
add_coverage_session(FULL_CORE, PYTHON[FULL_CORE])
