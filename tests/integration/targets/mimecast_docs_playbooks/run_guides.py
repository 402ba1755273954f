# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The guides run as written.

Reads the guides of the documentation site (docs/docsite/rst/*.rst, in the reading order of
docs/docsite/extra-docs.yml) and builds from their code blocks the project a reader builds:

* a block whose first line is a comment naming a file (``# groups.yml``, ``# group_vars/all/mimecast.yml``),
  or that follows the RST comment ``.. guide-file: <path>``, is that file of the project;
* a YAML block that is a list of plays (every item has ``hosts``) is a complete playbook, and is run, in
  the guides' order (a playbook that names no file is written as ``<guide>_<line>.yml``).

Every YAML block must parse. The project must have the ``ansible.cfg`` and ``inventory.yml`` the guides
show. Vault variables are given as extra vars (``vault_mimecast_client_id`` and
``vault_mimecast_client_secret``), the API host and, for the AWX guide's credential type, the API 2.0
credentials as the controller's ``MIMECAST_*`` environment, all pointing at the simulator. Then, on an empty
directory:

1. every playbook in check mode with ``--diff``: each passes, and the directory is still empty with no write
   received; the only warning allowed is check mode's "must be created by an earlier task";
2. every playbook for real: each passes, no warning;
3. every playbook again: each reports ``changed=0``, no warning, and the simulator receives no write.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import urllib.request

import yaml

DIRECTIVE = re.compile(r"^(?P<indent>[ ]*)\.\. code-block::[ ]*(?P<lang>\S+)[ ]*$")
GUIDE_FILE = re.compile(r"^[ ]*\.\. guide-file:[ ]*(?P<path>\S+)[ ]*$")
NAMED = re.compile(r"^#[ ]+(?P<path>[\w.-]+(?:/[\w.-]+)*\.(?:yml|yaml|cfg|ini|csv|json))(?:[ ].*)?$")
RECAP = re.compile(
    r"^localhost\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)"
)
# The one warning check mode may give: mimecast_group's, for a parent an earlier task creates.
CHECK_MODE_WARNING = "check mode: parent '"
CHECK_MODE_WARNING_END = "must be created by an earlier task"
VAULT_VARS = {
    "vault_mimecast_client_id": "mimecast_client_id",
    "vault_mimecast_client_secret": "mimecast_client_secret",
}


class GuideError(Exception):
    pass


def indent_of(line):
    return len(line) - len(line.lstrip(" "))


def code_blocks(text):
    """(line number, language, content, file named by a preceding guide-file comment) of each code block."""
    lines = text.splitlines()
    index, named = 0, None
    while index < len(lines):
        line = lines[index]
        match = GUIDE_FILE.match(line)
        if match:
            named = match.group("path")
            index += 1
            continue
        match = DIRECTIVE.match(line)
        if not match:
            if line.strip():
                named = None  # a guide-file comment names the very next code block only
            index += 1
            continue
        start, indent = index + 1, len(match.group("indent"))
        index += 1
        while index < len(lines) and lines[index].strip().startswith(":") and indent_of(lines[index]) > indent:
            index += 1  # directive options
        body = []
        while index < len(lines) and (not lines[index].strip() or indent_of(lines[index]) > indent):
            body.append(lines[index])
            index += 1
        yield start, match.group("lang"), textwrap.dedent("\n".join(body)).strip("\n") + "\n", named
        named = None


def find_collection():
    """The collection's root: ansible-test runs this script from a copy of the target below it."""
    here = os.path.dirname(os.path.abspath(__file__))
    while True:
        if os.path.isfile(os.path.join(here, "docs", "docsite", "extra-docs.yml")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            raise GuideError("no directory above %s has docs/docsite/extra-docs.yml" % os.path.abspath(__file__))
        here = parent


def guide_order(collection):
    with open(os.path.join(collection, "docs", "docsite", "extra-docs.yml"), encoding="utf-8") as handle:
        sections = yaml.safe_load(handle)["sections"]
    return [name for section in sections for name in section["toctree"]]


def build_project(collection, project):
    """Write the guides' files into ``project``; return the playbooks, in order, as (path, where)."""
    rst = os.path.join(collection, "docs", "docsite", "rst")
    files, playbooks = {}, []
    for guide in guide_order(collection):
        with open(os.path.join(rst, guide + ".rst"), encoding="utf-8") as handle:
            text = handle.read()
        for line, lang, content, named in code_blocks(text):
            where = "%s.rst:%d" % (guide, line)
            match = NAMED.match(content.splitlines()[0]) if content.strip() else None
            path = named or (match.group("path") if match else None)
            playbook = False
            if lang in ("yaml", "yaml+jinja"):
                try:
                    data = yaml.safe_load(content)
                except yaml.YAMLError as exc:
                    raise GuideError("%s: the YAML block does not parse: %s" % (where, exc)) from None
                playbook = (
                    isinstance(data, list) and bool(data) and all(isinstance(p, dict) and "hosts" in p for p in data)
                )
            if playbook and path is None:
                path = "%s_%d.yml" % (guide, line)
            if path is None:
                continue
            if path in files and files[path][0] != content:
                raise GuideError("%s and %s show different contents for %s" % (files[path][1], where, path))
            files[path] = (content, where)
            if playbook:
                playbooks.append((path, where))
    for required in ("ansible.cfg", "inventory.yml"):
        if required not in files:
            raise GuideError("no guide shows the contents of %s, which the project needs" % required)
    if not playbooks:
        raise GuideError("the guides have no complete playbook")
    for path, (content, _where) in files.items():
        target = os.path.join(project, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(content)
    return playbooks


class Simulator:
    def __init__(self, url):
        self.url = url

    def call(self, path, method="GET"):
        request = urllib.request.Request(
            "%s/_sim/%s" % (self.url, path),
            data=b"{}" if method == "POST" else None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the local simulator
            return json.loads(response.read() or b"null")

    def groups(self):
        return self.call("groups")["groups"]

    def writes(self):
        return self.call("stats")["writes"]


def run_playbooks(project, env, playbooks, extra, check):
    """Run the playbooks in one ansible-playbook, in order (it stops at the first that fails)."""
    command = ["ansible-playbook"] + [path for path, _where in playbooks] + ["-e", json.dumps(extra)]
    if check:
        command += ["--check", "--diff"]
    started = time.monotonic()
    completed = subprocess.run(
        command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    return completed.returncode, completed.stdout, time.monotonic() - started


def recaps(output):
    """The counts of each playbook run. ansible-playbook prints a recap after each playbook, with the counts
    so far: each playbook's own are the differences."""
    found, before = [], dict.fromkeys(("ok", "changed", "unreachable", "failed"), 0)
    for line in output.splitlines():
        match = RECAP.match(line.strip())
        if match:
            now = dict((key, int(value)) for key, value in match.groupdict().items())
            found.append(dict((key, now[key] - before[key]) for key in now))
            before = now
    return found


def warnings_in(output):
    """The start of each [WARNING] of the output. Older ansible-core wraps a warning at 80 columns without
    indenting its continuation lines, so white space is normalised and each warning runs to the next."""
    text = re.sub(r"\s+", " ", output)
    return [part.strip()[:300] for part in text.split("[WARNING]:")[1:]]


def run_pass(name, project, env, playbooks, extra, check=False, no_change=False):
    status, output, seconds = run_playbooks(project, env, playbooks, extra, check)
    stats = recaps(output)
    why = []
    if status != 0:
        why.append("exit status %d" % status)
    if len(stats) != len(playbooks):
        why.append("%d of the %d playbooks ran to their recap" % (len(stats), len(playbooks)))
    changed = [path for (path, _where), recap in zip(playbooks, stats) if recap["changed"]]
    if no_change and changed:
        why.append("changes on a run that must change nothing, in %s" % ", ".join(changed))
    warnings = [
        w
        for w in warnings_in(output)
        if not (check and w.startswith(CHECK_MODE_WARNING) and CHECK_MODE_WARNING_END in w)
    ]
    if warnings:
        why.append("unexpected warnings: %s" % " | ".join(warnings))
    print(
        "%s pass: %s in %.1fs, changed per playbook: %s"
        % (name, "failed" if why else "ok", seconds, [recap["changed"] for recap in stats])
    )
    if why:
        print(output)
        return ["%s pass: %s" % (name, "; ".join(why))]
    return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="integration_config.yml (simulator address and accounts)")
    parser.add_argument(
        "--collection",
        help="the collection's root directory (default: the nearest directory "
        "above this script that has docs/docsite/extra-docs.yml)",
    )
    parser.add_argument("--work", required=True, help="a directory for the project the guides build")
    args, _rest = parser.parse_known_args()
    with open(args.config, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)

    project = os.path.abspath(args.work)
    if os.path.isdir(project):
        raise GuideError("%s exists already: give a new directory" % project)
    os.makedirs(project)
    playbooks = build_project(args.collection or find_collection(), project)
    print("guides: %d playbooks: %s" % (len(playbooks), ", ".join("%s (%s)" % p for p in playbooks)))

    # The guides' ansible.cfg and inventory, and the simulator's address and credentials as the only MIMECAST_*.
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("MIMECAST_") and k != "ANSIBLE_INVENTORY")
    env.update(
        ANSIBLE_CONFIG=os.path.join(project, "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        MIMECAST_BASE_URL=config["mimecast_sim_url"],
        MIMECAST_CLIENT_ID=config["mimecast_client_id"],
        MIMECAST_CLIENT_SECRET=config["mimecast_client_secret"],
    )
    extra = dict((name, config[key]) for name, key in VAULT_VARS.items())
    simulator = Simulator(config["mimecast_sim_url"])

    simulator.call("reset", "POST")
    problems = run_pass("check", project, env, playbooks, extra, check=True)
    if simulator.groups() or simulator.writes():
        problems.append(
            "check mode wrote to the directory: %d groups, %d writes" % (len(simulator.groups()), simulator.writes())
        )
    problems += run_pass("real", project, env, playbooks, extra)
    created = len(simulator.groups())
    if not created:
        problems.append("the real pass created no group")
    writes = simulator.writes()
    problems += run_pass("again", project, env, playbooks, extra, no_change=True)
    if simulator.writes() != writes:
        problems.append("the second real pass sent %d write(s)" % (simulator.writes() - writes))
    print("guides: %d groups in the directory after the real pass" % created)
    if problems:
        print("\n".join(["guides: %d problem(s):" % len(problems)] + problems), file=sys.stderr)
        return 1
    print(
        "guides: %d playbooks passed in check mode from an empty directory, for real, and again with no change"
        % len(playbooks)
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except GuideError as exc:
        print("guides: %s" % exc, file=sys.stderr)
        sys.exit(1)
