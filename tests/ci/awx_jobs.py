# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The AWX guide's playbooks, run as AWX runs a job: through ansible-runner, with the guide's credential types.

For each job, a private data directory laid out as AWX lays it out (project/, inventory/, env/ with envvars,
extravars, passwords, settings, cmdline and ssh_key, and artifacts/ written by ansible-runner), the project
built from the guides (run_guides.build_project, the files a reader builds) and the collection installed from
its built tarball into a collections path given to the job, as an execution environment has it. The
credentials are injected as AWX injects them: the injector configuration of the guide's credential types
(the blocks of docs/docsite/rst/guide_awx_aap.rst, read from the guide itself) rendered with the credential's
inputs, a field left unset rendering as an empty value. Jobs, one after the other, against the simulator:

1. API 2.0, check mode with diff: passes, writes nothing, one token request;
2. API 2.0, for real: passes, creates the tree, one token request for the job's tasks;
3. API 1.0 keys, for real: passes, changes nothing, no token request;
4. API 1.0 keys with the base URL left unset (an empty MIMECAST_BASE_URL): fails before any request, saying
   that API 1.0 needs a host.

Then everything the runner left is scanned for every secret and every value the simulator derived from one
(GET /_sim/derived-secrets: signatures, Authorization headers, bearer tokens): the runner's stdout, every job
event's stdout and event_data, every file of every job's directory (artifacts, fact cache, env/'s outputs).
Not scanned, as they are the job's input rather than its output: the env/ files this script writes (envvars
holds the injected secrets, as AWX's does) and artifacts/<id>/command, ansible-runner's record of the command
and environment it started the job with. That command file must hold the injected secret: the scan sees the
files it reads.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import ansible_runner
import jinja2
import jinja2.sandbox
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "targets", "mimecast_docs_playbooks"))
sys.path.insert(0, os.path.join(ROOT, "tests", "ci"))

import run_guides  # noqa: E402 (the docs playbooks target's reader of the guides)
from simulator import CREDENTIALS, Simulator  # noqa: E402

GUIDE = "guide_awx_aap"
GUIDE_RST = os.path.join(ROOT, "docs", "docsite", "rst", GUIDE + ".rst")
SECRET_FIELDS = ("client_secret", "secret_key", "app_key")
# The env/ files of a private data directory that this script writes (the job's input, as AWX writes them).
INPUT_FILES = ("envvars", "extravars", "passwords", "settings", "cmdline", "ssh_key")


class JobError(Exception):
    pass


def credential_types():
    """{kind: (inputs, injectors)} from the guide's blocks, named by the guide-file comment before each."""
    with open(GUIDE_RST, encoding="utf-8") as handle:
        blocks = dict(
            (named, yaml.safe_load(content))
            for _line, _lang, content, named in run_guides.code_blocks(handle.read())
            if named
        )
    types = {}
    for kind in ("api2", "api1"):
        folder = "awx/credential_types/mimecast_%s/" % kind
        types[kind] = (blocks[folder + "inputs.yml"], blocks[folder + "injectors.yml"])
    return types


def inject(credential_type, inputs):
    """The environment AWX gives a job for a credential: the injector's env, each value rendered with the
    credential's inputs (an input that is not set renders empty). Required inputs must be given."""
    fields, injectors = credential_type
    known = set(field["id"] for field in fields["fields"])
    unknown = set(inputs) - known
    if unknown:
        raise JobError("inputs the credential type does not define: %s" % ", ".join(sorted(unknown)))
    environment = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.Undefined)
    return dict((name, environment.from_string(value).render(**inputs)) for name, value in injectors["env"].items())


def build_collection(work):
    """The collection as an execution environment has it: built, then installed into a collections path."""
    dist, path = os.path.join(work, "dist"), os.path.join(work, "collections")
    subprocess.run(
        ["ansible-galaxy", "collection", "build", "--force", "--output-path", dist, ROOT],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (tarball,) = glob.glob(os.path.join(dist, "community-mimecast-*.tar.gz"))
    subprocess.run(
        ["ansible-galaxy", "collection", "install", "--offline", "-p", path, tarball],
        check=True,
        stdout=subprocess.DEVNULL,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=path),  # the path the jobs use: no warning that it is not
    )
    return path


def write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(content)


def private_data_dir(work, name, collections, injected, check):
    """A job's private data directory as AWX lays it out; returns it and the playbooks to run."""
    directory = os.path.join(work, "jobs", name)
    project = os.path.join(directory, "project")
    os.makedirs(project)
    playbooks = [path for path, where in run_guides.build_project(ROOT, project) if where.startswith(GUIDE + ".rst")]
    if not playbooks:
        raise JobError("the AWX guide has no complete playbook")
    write(
        os.path.join(directory, "inventory", "hosts"),
        "localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable,
    )
    envvars = dict(injected, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1")
    envvars["ANSIBLE_CONFIG"] = os.path.join(project, "ansible.cfg")
    write(os.path.join(directory, "env", "envvars"), yaml.safe_dump(envvars))
    write(os.path.join(directory, "env", "extravars"), yaml.safe_dump({"awx_job_id": name}))
    write(os.path.join(directory, "env", "passwords"), yaml.safe_dump({}))
    write(
        os.path.join(directory, "env", "settings"),
        yaml.safe_dump({"job_timeout": 600, "pexpect_timeout": 5, "suppress_ansible_output": True}),
    )
    write(os.path.join(directory, "env", "cmdline"), "--check --diff\n" if check else "\n")
    write(os.path.join(directory, "env", "ssh_key"), "")
    os.makedirs(os.path.join(directory, "artifacts"))
    return directory, playbooks


def sim_call(url, path):
    with urllib.request.urlopen("%s/_sim/%s" % (url, path), timeout=60) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def run_job(directory, playbook, name):
    started = time.monotonic()
    runner = ansible_runner.run(
        private_data_dir=directory,
        playbook=playbook,
        ident=name,
        fact_cache_type="jsonfile",
        quiet=True,
    )
    seconds = time.monotonic() - started
    with open(runner.stdout.name, encoding="utf-8") as handle:
        stdout = handle.read()
    events = list(runner.events)
    return runner, stdout, events, seconds


def changed_count(runner):
    return sum((runner.stats or {}).get("changed", {}).values())


def scan(directories, outputs, secrets):
    """(where, which secret) for each secret value found in the jobs' output; the command files found too."""
    forms = {}
    for secret in secrets:
        for form in (secret, json.dumps(secret)[1:-1]):
            forms[form] = secret
    leaks, commands = [], []

    def check(where, text):
        for form, secret in forms.items():
            if form in text:
                leaks.append((where, secret))

    for where, text in outputs:
        check(where, text)
    for directory in directories:
        for folder, _dirs, files in os.walk(directory):
            for name in files:
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, directory)
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
                if relative in [os.path.join("env", input_file) for input_file in INPUT_FILES]:
                    continue  # the job's input, written above (envvars holds the injected secrets)
                parts = relative.split(os.sep)
                if len(parts) == 3 and parts[0] == "artifacts" and parts[2] == "command":
                    commands.append((path, any(form in text for form in forms)))
                    continue
                check(path, text)
    return leaks, commands


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", help="a directory for the jobs (default: a temporary one, removed after)")
    args = parser.parse_args()
    work = os.path.abspath(args.work) if args.work else tempfile.mkdtemp(prefix="mimecast-awx-")
    os.makedirs(work, exist_ok=True)
    started = time.monotonic()
    problems = []
    try:
        types = credential_types()
        collections = build_collection(work)
        with Simulator() as simulator:
            url = simulator.url
            api2 = dict(client_id=CREDENTIALS["client_id"], client_secret=CREDENTIALS["client_secret"])
            api1 = dict((key, CREDENTIALS[key]) for key in ("access_key", "secret_key", "app_id", "app_key"))
            jobs = (
                # name, kind, inputs, check mode, expected: passes, writes, token requests, changes
                ("1-check-api2", "api2", dict(api2, base_url=url), True),
                ("2-real-api2", "api2", dict(api2, base_url=url), False),
                ("3-again-api1", "api1", dict(api1, base_url=url), False),
                ("4-unset-base-url-api1", "api1", api1, False),
            )
            directories, outputs = [], []
            for name, kind, inputs, check in jobs:
                injected = inject(types[kind], inputs)
                directory, playbooks = private_data_dir(work, name, collections, injected, check)
                directories.append(directory)
                before = sim_call(url, "stats")
                results = [run_job(directory, playbook, "%s-%d" % (name, n)) for n, playbook in enumerate(playbooks)]
                after = sim_call(url, "stats")
                tokens = after["token_requests"] - before["token_requests"]
                writes = after["writes"] - before["writes"]
                requests = after["total"] - before["total"]
                changed = sum(changed_count(runner) for runner, _out, _ev, _s in results)
                statuses = [runner.status for runner, _out, _ev, _s in results]
                seconds = sum(result[3] for result in results)
                print(
                    "awx_jobs: job %s (%s%s, MIMECAST_BASE_URL=%r): %s in %.1fs, %d requests, %d token request(s), "
                    "%d write(s), changed=%d, %d events"
                    % (
                        name, kind, ", check mode" if check else "", injected["MIMECAST_BASE_URL"],
                        "/".join(statuses), seconds, requests, tokens, writes, changed,
                        sum(len(result[2]) for result in results),
                    ),
                    flush=True,
                )  # fmt: skip
                for runner, stdout, events, _seconds in results:
                    outputs.append(("%s stdout" % runner.config.ident, stdout))
                    for event in events:
                        where = "%s event %s" % (runner.config.ident, event.get("uuid"))
                        outputs.append((where + " stdout", event.get("stdout", "")))
                        outputs.append((where + " event_data", json.dumps(event.get("event_data", {}))))
                why = []
                failed = name.startswith("4-")
                if failed:
                    if statuses != ["failed"] * len(results):
                        why.append("passed with an empty MIMECAST_BASE_URL and API 1.0 keys")
                    if requests:
                        why.append("sent %d request(s) before refusing the unset base URL" % requests)
                    if "base_url is required with API 1.0 keys" not in "".join(out for _r, out, _e, _s in results):
                        why.append("does not say that API 1.0 keys need a base_url")
                else:
                    if statuses != ["successful"] * len(results):
                        why.append("status %s" % "/".join(statuses))
                        why.extend(out for _r, out, _e, _s in results)
                    if tokens != (1 if kind == "api2" else 0):
                        why.append("%d token requests (one per API 2.0 job, none with API 1.0 keys)" % tokens)
                    if check and writes:
                        why.append("check mode sent %d write(s)" % writes)
                    if name.startswith("2-") and not (writes and changed):
                        why.append("the real job changed nothing on an empty directory")
                    if name.startswith("3-") and (writes or changed):
                        why.append("the job after the real one changed something (%d writes)" % writes)
                problems.extend("job %s: %s" % (name, reason) for reason in why)
            secrets = [CREDENTIALS[field] for field in SECRET_FIELDS]
            secrets += sim_call(url, "derived-secrets")["values"]
        leaks, commands = scan(directories, outputs, secrets)
        print(
            "awx_jobs: scanned %d outputs (stdout, each event's stdout and event_data) and every file of %d job "
            "directories for %d secret values: %d found" % (len(outputs), len(directories), len(secrets), len(leaks))
        )
        # Which secret: its index in the list, never the value.
        problems.extend("secret value #%d in %s" % (secrets.index(secret), where) for where, secret in leaks)
        if not commands or not all(found for _path, found in commands):
            problems.append("artifacts/<id>/command of some job does not hold the injected secret: is it scanned?")
    except (JobError, run_guides.GuideError, subprocess.CalledProcessError) as exc:
        problems.append(str(exc))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    if problems:
        print("\n".join(["awx_jobs: %d problem(s):" % len(problems)] + problems), file=sys.stderr)
        return 1
    print(
        "awx_jobs: 4 jobs as AWX runs them, nothing secret in what they left, in %.0fs" % (time.monotonic() - started)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
