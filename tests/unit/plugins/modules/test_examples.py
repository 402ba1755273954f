# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every module's EXAMPLES parse as YAML tasks, and every option they give a community.mimecast module (in the
task, or in module_defaults for the action group) is in that module's argument spec, suboptions included.
The argument spec is the one main() really builds, caught where AnsibleModule receives it."""

import importlib
import os

import pytest
import yaml
from ansible.module_utils import basic

from ansible_collections.community.mimecast.plugins.module_utils.module import connection_argument_spec

COLLECTION = "community.mimecast"
MODULES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "modules")
MODULES = sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith(".py") and name != "__init__.py")
ACTION_GROUP = "group/%s.mimecast" % COLLECTION
# Keywords of a task or block, not module options.
BLOCK_KEYS = ("block", "rescue", "always")


class _Spec(Exception):
    def __init__(self, spec):
        super().__init__("argument spec caught")
        self.spec = spec


def argument_spec(name, monkeypatch):
    """The argument spec ``main()`` of the module ``name`` hands to AnsibleModule."""

    def catch(self, argument_spec=None, **kwargs):
        raise _Spec(argument_spec)

    module = importlib.import_module("ansible_collections.%s.plugins.modules.%s" % (COLLECTION, name))
    monkeypatch.setattr(basic.AnsibleModule, "__init__", catch)
    with pytest.raises(_Spec) as caught:
        module.main()
    return caught.value.spec


def options_of(spec):
    """Every name an option of ``spec`` answers to (aliases included)."""
    names = {}
    for option, definition in spec.items():
        names[option] = definition
        for alias in definition.get("aliases") or []:
            names[alias] = definition
    return names


def unknown_options(args, spec, where):
    """The options of ``args`` not in ``spec``, with their place, suboptions of dict options included."""
    known = options_of(spec)
    problems = []
    for key, value in (args or {}).items():
        if key not in known:
            problems.append("%s: %s" % (where, key))
            continue
        suboptions = known[key].get("options")
        if suboptions and isinstance(value, dict):
            problems.extend(unknown_options(value, suboptions, "%s.%s" % (where, key)))
    return problems


def tasks_of(items):
    """Every task of a list of tasks, blocks walked into."""
    for item in items or []:
        assert isinstance(item, dict), "an example is not a task: %r" % (item,)
        yield item
        for key in BLOCK_KEYS:
            yield from tasks_of(item.get(key))


def module_calls(task):
    """(module name, its args) of every community.mimecast module a task calls."""
    for key, value in task.items():
        if key.startswith(COLLECTION + "."):
            yield key[len(COLLECTION) + 1 :], value


def check_examples(examples, specs):
    """The problems of one EXAMPLES text against the argument specs (module name -> spec)."""
    problems = []
    tasks = list(tasks_of(yaml.safe_load(examples)))
    if not tasks:
        problems.append("no task")
    calls = 0
    for task in tasks:
        for name, args in module_calls(task):
            calls += 1
            if name not in specs:
                problems.append("%r: no such module %s.%s" % (task.get("name"), COLLECTION, name))
                continue
            if args is not None and not isinstance(args, dict):
                problems.append("%r: %s is given %r, not options" % (task.get("name"), name, args))
                continue
            problems.extend("%r: %s" % (task.get("name"), p) for p in unknown_options(args, specs[name], name))
        defaults = (task.get("module_defaults") or {}).get(ACTION_GROUP)
        if isinstance(defaults, dict):
            problems.extend(
                "%r: %s" % (task.get("name"), p)
                for p in unknown_options(defaults, connection_argument_spec(), ACTION_GROUP)
            )
    if not calls:
        problems.append("no task calls a %s module" % COLLECTION)
    return problems


@pytest.fixture
def specs(monkeypatch):
    return dict((name, argument_spec(name, monkeypatch)) for name in MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_examples_use_only_options_of_the_argument_spec(name, specs):
    module = importlib.import_module("ansible_collections.%s.plugins.modules.%s" % (COLLECTION, name))
    assert check_examples(module.EXAMPLES, specs) == []


def test_the_check_finds_a_misspelt_option_a_misspelt_suboption_and_a_misspelt_default(specs):
    examples = """
- name: Misspelt option
  community.mimecast.mimecast_group:
    nme: Finance
- name: Misspelt suboption
  community.mimecast.mimecast_group:
    name: Finance
    members:
      ad: [a@example.com]
- name: Misspelt connection default
  module_defaults:
    group/community.mimecast.mimecast:
      base_uri: https://eu-api.mimecast.com
  block:
    - name: Unknown module
      community.mimecast.mimecast_groups:
        name: Finance
"""
    assert check_examples(examples, specs) == [
        "'Misspelt option': mimecast_group: nme",
        "'Misspelt suboption': mimecast_group.members: ad",
        "'Misspelt connection default': group/community.mimecast.mimecast: base_uri",
        "'Unknown module': no such module community.mimecast.mimecast_groups",
    ]


def test_aliases_count_as_options(specs):
    assert check_examples("- community.mimecast.mimecast_group: {description: Finance}", specs) == []
