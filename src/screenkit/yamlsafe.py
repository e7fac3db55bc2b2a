"""Reading a user's YAML file (a protocol, a ``--columns`` map) without surprises.

:func:`read_yaml` is the one place screenkit parses YAML a user wrote:

* the file must be UTF-8 (a leading byte-order mark is allowed); otherwise the error names
  the file and the byte offset of the first undecodable byte;
* anchors and aliases (``&a`` / ``*a``, as ``yaml.dump`` writes for a repeated value) are
  allowed, but a file whose aliases would expand to more than :data:`MAX_NODES` values (a
  "billion laughs" file) is refused before anything is built;
* a file larger than :data:`MAX_BYTES` is refused unread;
* a number the parser cannot build (e.g. an integer of thousands of digits, beyond
  Python's limit on converting digits to ``int``) is a clear error, not a traceback.

The file is parsed by libyaml's C parser where PyYAML was built with it
(``yaml.__with_libyaml__``; a protocol reads ~15x faster) and by the pure-Python one
otherwise; both build only the safe loader's plain values, and the checks above are the
same for both (libyaml also refuses nesting deeper than 1000, as an invalid file).

>>> from pathlib import Path
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "a.yaml").write_text("a: &x [1, 2]\\nb: *x\\n")
>>> read_yaml(folder / "a.yaml")
{'a': [1, 2], 'b': [1, 2]}
>>> lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
>>> lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]" for i in range(1, 9)]
>>> _ = (folder / "lol.yaml").write_text("\\n".join(lines))
>>> read_yaml(folder / "lol.yaml", what="Protocol file")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
screenkit.errors.InputError: Protocol file expands to more than 1000000 values through ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from screenkit.errors import InputError, ScreenkitError

__all__ = ["MAX_BYTES", "MAX_NODES", "read_yaml"]

#: most values a file may expand to through aliases (a protocol has a few thousand)
MAX_NODES = 1_000_000
#: largest YAML file read (a protocol is a few kB; 5 MB leaves room for any real one)
MAX_BYTES = 5_000_000


def read_yaml(
    path: str | Path, *, what: str = "YAML file", error: type[ScreenkitError] = InputError
) -> Any:
    """The parsed content of ``path``, or an ``error`` (default :class:`InputError`) naming
    the file."""
    path = Path(path)
    if path.is_dir():
        raise error(f"{what} is a folder, not a file", file=path, hint="give a .yaml file")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise error(
                f"{what} is too large", file=path, value=size, expected=f"at most {MAX_BYTES} bytes"
            )
        data = path.read_bytes()
    except OSError as err:
        raise error(f"Cannot read the {what.lower()}", file=path, value=err.strerror) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise error(
            f"{what} is not UTF-8 text",
            file=path,
            byte_offset=err.start,
            value=data[err.start : err.start + 4],
            hint="save the file as UTF-8",
        ) from None
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, {})
        if size > MAX_NODES:
            raise error(
                f"{what} expands to more than {MAX_NODES} values through YAML aliases "
                "(a 'billion laughs' file?)",
                file=path,
                hint="write the values out instead of repeating &anchor / *alias",
            )
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        raise error(f"{what} is not valid YAML", file=path, detail=str(err)) from None
    except RecursionError:
        raise error(f"{what} is nested too deeply", file=path) from None
    except (ValueError, OverflowError) as err:
        raise error(
            f"{what} holds a value that cannot be read", file=path, detail=str(err)
        ) from None
    finally:
        loader.dispose()


#: the safe loader, libyaml's C parser where PyYAML has it
_SafeLoader: Any = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader


def _expanded_size(node: yaml.Node, seen: dict[int, int]) -> int:
    """How many values ``node`` becomes once every alias is copied out; computed on the
    composed graph (an alias there is a shared node, not a copy), so it costs the file's
    size, not the expansion's. A node met again while being counted (a recursive alias)
    counts once."""
    key = id(node)
    if key in seen:
        return seen[key]
    seen[key] = 1
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded_size(child, seen) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded_size(k, seen) + _expanded_size(v, seen) for k, v in node.value)
    else:
        total = 1
    seen[key] = min(total, MAX_NODES + 1)
    return seen[key]
