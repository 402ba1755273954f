#!/usr/bin/env bash
# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Build the documentation site of community.mimecast (module pages and the guides of
# docs/docsite/) as HTML with antsibull-docs and Sphinx:
#
#   docs/docsite/build.sh OUTPUT_DIR        the site is OUTPUT_DIR/html/index.html
#
# Needs antsibull-docs and sphinx-build on PATH (`make gate-docsite` runs it in the docsite nox
# session, which has both). The other packages the generated Sphinx project asks for
# (its requirements.txt) are installed into OUTPUT_DIR/python, never into the environment on
# PATH, and only when that environment lacks them: the versions come from
# docs/docsite/requirements.txt.
#
# Fails on any Sphinx warning except one: offline, intersphinx cannot fetch the inventories it is
# configured with (the three labels of the Ansible documentation the generated pages link to,
# common_return_values, ansible_configuration_settings and action_plugins, then come from a small
# local inventory). Every other warning (a bad reference in a guide, a broken toctree, bad markup)
# fails the build, and so does a link between the site's pages to a page or an anchor that is not
# there, or a page that nothing links to.

set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTPUT_DIR" >&2
    exit 2
fi

collection=community.mimecast
repo="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(mkdir -p -- "$1" && cd -- "$1" && pwd)"

for tool in antsibull-docs sphinx-build python3; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool is not on PATH" >&2; exit 1; }
done
# The Python that runs sphinx-build: its packages are the ones Sphinx will import.
sphinx_python="$(dirname -- "$(command -v sphinx-build)")/python"
[[ -x "$sphinx_python" ]] || sphinx_python=python3

# 1. The collection as antsibull-docs finds it: OUTPUT_DIR/collections/ansible_collections/community/mimecast,
#    a link to this repository.
link="$out/collections/ansible_collections/community/mimecast"
mkdir -p -- "$(dirname -- "$link")"
ln -sfn -- "$repo" "$link"
export ANSIBLE_COLLECTIONS_PATH="$out/collections"

# 2. A fresh Sphinx project. antsibull-docs wants its directories writable by their owner only.
project="$out/project"
rm -rf -- "$project" "$out/html"
mkdir -p -- "$project"
chmod 755 -- "$project"
antsibull-docs sphinx-init --use-current --squash-hierarchy --dest-dir "$project" \
    --project "$collection" --copyright "community.mimecast contributors" \
    --title "community.mimecast" --html-short-title "community.mimecast" \
    "$collection" >/dev/null
# Where the network drops packets instead of refusing them, intersphinx would wait for each inventory
# without limit (its default): give up after 10 s instead.
echo "intersphinx_timeout = 10" >>"$project/conf.py"
# The generated pages link to three labels of the Ansible documentation (common_return_values,
# ansible_configuration_settings, action_plugins). conf.py falls back to ../ansible_devel.inv (beside conf.py) when
# the Ansible inventory cannot be fetched: that file, with just those labels, keeps the links working
# offline (they point at docs.ansible.com either way).
python3 - "$project/ansible_devel.inv" <<'PY'
import sys
import zlib

entries = [
    ("common_return_values", "reference_appendices/common_return_values.html#common-return-values", "Return Values"),
    ("ansible_configuration_settings", "reference_appendices/config.html#ansible-configuration-settings",
     "Ansible Configuration Settings"),
    ("action_plugins", "plugins/action.html#action-plugins", "Action plugins"),
]
body = "".join("%s std:label -1 %s %s\n" % entry for entry in entries)
with open(sys.argv[1], "wb") as inventory:
    inventory.write(b"# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
                    b"# The remainder of this file is compressed using zlib.\n")
    inventory.write(zlib.compress(body.encode("utf-8")))
PY

# 3. The packages the project asks for. What the environment on PATH already satisfies is used
#    as it is; the rest is installed with the pinned versions into OUTPUT_DIR/python.
missing_requirements() {
    "$sphinx_python" - "$project/requirements.txt" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version

from packaging.requirements import Requirement

for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    requirement = Requirement(line)
    try:
        installed = version(requirement.name)
    except PackageNotFoundError:
        print(requirement.name)
        continue
    if not requirement.specifier.contains(installed, prereleases=True):
        print(requirement.name)
PY
}
export PYTHONPATH="$out/python${PYTHONPATH:+:$PYTHONPATH}"
missing="$(missing_requirements)"
if [[ -n "$missing" ]]; then
    echo "build.sh: installing into $out/python what the environment lacks: ${missing//$'\n'/ }"
    rm -rf -- "$out/python"
    # The pins list the whole closure of what can be missing (see the file), hence --no-deps:
    # nothing the environment already has is installed a second time.
    if ! "$sphinx_python" -m pip install -qq --disable-pip-version-check --no-deps \
        --target "$out/python" -r "$repo/docs/docsite/requirements.txt"; then
        echo "build.sh: could not install docs/docsite/requirements.txt from the package index" >&2
        exit 1
    fi
    missing="$(missing_requirements)"
    if [[ -n "$missing" ]]; then
        echo "build.sh: still missing after the install: ${missing//$'\n'/ }" >&2
        exit 1
    fi
fi

# 4. The reStructuredText of the collection (module pages, indexes, the guides of docs/docsite/).
mkdir -p -- "$project/rst"
chmod og-w -- "$project/rst"
antsibull-docs --config-file "$project/antsibull-docs.cfg" collection --use-current --squash-hierarchy \
    --fail-on-error --cleanup everything --dest-dir "$project/rst" "$collection" >/dev/null
# antsibull-docs lists on this page only the variables that plugin options declare (modules cannot), and
# links it from nowhere: the MIMECAST_* variables are defined in the reference page of docs/docsite/rst
# (docs/docsite/config.yml, envvar_directives). An index that lists nothing is not published.
if ! grep -q '^\.\. envvar::' "$project/rst/environment_variables.rst" 2>/dev/null; then
    rm -f -- "$project/rst/environment_variables.rst"
fi
# The release notes (docs/docsite/config.yml, changelog.write_changelog) have a title once the collection has a
# release in changelogs/changelog.yaml; without one the page cannot be linked (Sphinx warns where a toctree names it).
if [[ -f "$project/rst/changelog.rst" ]] && ! grep -q '^===' "$project/rst/changelog.rst"; then
    echo "build.sh: the release notes page has no title: changelogs/changelog.yaml has no release" >&2
    exit 1
fi

# 5. The HTML. Every warning goes to a file; after the build, the ones allowed above are set
#    aside and anything else fails.
#    A full build every time (no cached doctrees), so a warning cannot hide in an unchanged page.
warnings="$out/sphinx-warnings.log"
rm -rf -- "$warnings" "$out/doctrees"
status=0
# -q, not -Q: -Q would keep the warnings out of the file too. Sphinx's own stderr repeats them: kept
# in a file, shown only when Sphinx itself fails.
sphinx-build -b html -c "$project" -q --keep-going -w "$warnings" -d "$out/doctrees" \
    "$project/rst" "$out/html" 2>"$out/sphinx-stderr.log" || {
    status=$?
    grep -v -e 'WARNING:' "$out/sphinx-stderr.log" >&2 || true
}
[[ -f "$warnings" ]] || { echo "build.sh: Sphinx wrote no warnings file" >&2; exit 1; }

python3 - "$warnings" "$project/rst/docsite/" <<'PY' || status=1
import re
import sys

warnings_file, guides = sys.argv[1:]
# A warning starts at a line with "WARNING:" (or "ERROR:", ...); the lines after it without one belong to it.
entries = []
for line in open(warnings_file, encoding="utf-8"):
    line = line.rstrip("\n")
    if re.search(r"\b(WARNING|ERROR|CRITICAL|SEVERE):", line) or not entries:
        entries.append([line])
    else:
        entries[-1].append(line)


def allowed(entry):
    first, rest = entry[0], entry[1:]
    # Offline, intersphinx cannot fetch the inventories of the Python and Jinja documentation (the Ansible
    # labels the pages use come from the project's ansible_devel.inv then).
    return (
        first == "WARNING: failed to reach any of the inventories with the following issues:"
        and bool(rest)
        and all(re.match(r"intersphinx inventory '[^']+' not (fetchable|readable) due to ", line) for line in rest)
    )


unexpected = [entry for entry in entries if not allowed(entry)]
print(
    "build.sh: %d Sphinx warnings: %d allowed (offline intersphinx), %d unexpected"
    % (len(entries), len(entries) - len(unexpected), len(unexpected))
)
for entry in unexpected:
    print("\n".join(entry), file=sys.stderr)
sys.exit(1 if unexpected else 0)
PY

# 6. What the site must show: an Examples section on every module page, and on the index page a link
#    to every module and every guide.
python3 - "$out/html" "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/community/mimecast" <<'PY' || status=1
import os
import re
import sys

html, collection = sys.argv[1:]
modules = sorted(name[:-3] for name in os.listdir(os.path.join(collection, "plugins", "modules")) if name.endswith(".py"))
guides = sorted(name[:-4] for name in os.listdir(os.path.join(collection, "docs", "docsite", "rst")) if name.endswith(".rst"))
problems = []
try:
    with open(os.path.join(html, "index.html"), encoding="utf-8") as index:
        linked = set(re.findall(r'href="([^"#]+)', index.read()))
except OSError as exc:
    problems.append("no index page: %s" % exc)
    linked = set()
for module in modules:
    page = "%s_module.html" % module
    if page not in linked:
        problems.append("index.html does not link the module %s" % module)
    if not os.path.exists(os.path.join(html, page)):
        problems.append("no page for the module %s" % module)
        continue
    with open(os.path.join(html, page), encoding="utf-8") as text:
        if 'id="examples"' not in text.read():
            problems.append("%s has no Examples section" % page)
for guide in guides:
    if "docsite/%s.html" % guide not in linked:
        problems.append("index.html does not link the guide %s (is it in docs/docsite/extra-docs.yml?)" % guide)
if "changelog.html" not in linked:
    problems.append("index.html does not link the release notes (changelog.html)")

# Links between the site's own pages: each target page exists and has the anchor; every page is linked.
pages = {}
for folder, _dirs, files in os.walk(html):
    for name in files:
        if name.endswith(".html"):
            path = os.path.relpath(os.path.join(folder, name), html)
            with open(os.path.join(html, path), encoding="utf-8") as text:
                pages[path] = text.read()
skipped = ("genindex.html", "search.html", "py-modindex.html")
reached = set(["index.html"])
for path, text in sorted(pages.items()):
    ids = None
    for href in sorted(set(re.findall(r'href="([^"]*)"', text))):
        if re.match(r"[a-z][a-z0-9+.-]*:", href) or href.startswith("//"):
            continue  # another site (not checked offline), mailto:, javascript:
        target, _hash, anchor = href.partition("#")
        target_path = os.path.normpath(os.path.join(os.path.dirname(path), target)) if target else path
        if target_path.startswith("_static") or target_path.startswith("_sources"):
            continue
        if target_path not in pages:
            if not os.path.exists(os.path.join(html, target_path)):
                problems.append("%s links to %s, which is not there" % (path, href))
            continue
        reached.add(target_path)
        if anchor and ('id="%s"' % anchor) not in pages[target_path]:
            problems.append("%s links to %s, but %s has no anchor %s" % (path, href, target_path, anchor))
for path in sorted(set(pages) - reached):
    if os.path.basename(path) not in skipped:
        problems.append("no page links to %s" % path)
for problem in problems:
    print("build.sh: %s" % problem, file=sys.stderr)
print("build.sh: %d module pages with examples, %d guides and the release notes linked from index.html; %d pages, "
      "their links to each other checked" % (len(modules), len(guides), len(pages))
      if not problems else "build.sh: %d problem(s) with what the site shows" % len(problems))
sys.exit(1 if problems else 0)
PY

if [[ $status -ne 0 ]]; then
    echo "build.sh: the documentation site did not build cleanly (warnings: $warnings)" >&2
    exit "$status"
fi
echo "build.sh: $out/html/index.html"
