# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Paths of group names as users write them: the one split and join of every path the modules read or
write (``parent``, ``root``, ``groups`` entries, ``paths``, ``path``, ``created``, ``deleted``, diffs and
messages). No I/O here. Internal use only: this API may change without notice.

A path is names from the directory root joined by ``/``. A name that holds ``/`` writes it as ``\\/``, and
a backslash as ``\\\\``; no other escape exists, so ``Sales\\/Marketing`` is the one group ``Sales/Marketing``
at the root, and ``A/B\\/C`` is the group ``B/C`` under ``A``. :func:`join_path` escapes exactly what
:func:`split_path` reads, so ``split_path(join_path(names)) == names`` for any names.

The name rules (length, white space, control characters) are checked by the callers (group_tree), on the
names this module returns.
"""

SEPARATOR = "/"
ESCAPE = "\\"


class PathError(ValueError):
    """A path that cannot be read: a bad escape or an empty name."""


def escape_name(name):
    """Return one group name as it is written inside a path."""
    return name.replace(ESCAPE, ESCAPE + ESCAPE).replace(SEPARATOR, ESCAPE + SEPARATOR)


def join_path(names):
    """Return names (from the directory root) as the path users write; ``()`` gives the empty string."""
    return SEPARATOR.join(escape_name(name) for name in names)


def split_path(path, anchored=False):
    """Return the names of ``path`` as a tuple; raise PathError if it cannot be read.

    ``\\/`` is a ``/`` inside a name and ``\\\\`` a backslash; any other backslash (a trailing one included) is
    refused, and so is an empty name (``A//B``). With ``anchored`` (a path from the directory root, such as
    ``parent`` or ``root``), one ``/`` at the start and one at the end are allowed and mean nothing, and ``/``
    alone is the directory root, ``()``. The empty string is refused: the callers say what it means.
    """
    if not path:
        raise PathError("the path is empty")
    if anchored and path == SEPARATOR:
        return ()  # the directory root
    names, current = [], []
    position = 0
    while position < len(path):
        char = path[position]
        if char == ESCAPE:
            if position + 1 == len(path):
                raise PathError(
                    "the path '%s' ends with a lone '%s': write '%s%s' for a backslash in a name, '%s%s' for a '%s'"
                    % (path, ESCAPE, ESCAPE, ESCAPE, ESCAPE, SEPARATOR, SEPARATOR)
                )
            escaped = path[position + 1]
            if escaped not in (SEPARATOR, ESCAPE):
                raise PathError(
                    "the path '%s' has '%s%s' at character %d: the only escapes are '%s%s' (a '%s' in a name) and "
                    "'%s%s' (a backslash)"
                    % (path, char, escaped, position + 1, ESCAPE, SEPARATOR, SEPARATOR, ESCAPE, ESCAPE)
                )
            current.append(escaped)
            position += 2
            continue
        if char == SEPARATOR:
            names.append("".join(current))
            current = []
        else:
            current.append(char)
        position += 1
    names.append("".join(current))
    if anchored:
        if len(names) > 1 and names[0] == "":
            names = names[1:]
        if len(names) > 1 and names[-1] == "":
            names = names[:-1]
    if "" in names:
        raise PathError(
            "the path '%s' has an empty name (two '%s' in a row%s)"
            % (path, SEPARATOR, "" if anchored else ", or a '%s' at the start or end" % SEPARATOR)
        )
    return tuple(names)
