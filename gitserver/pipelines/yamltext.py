"""The YAML loader every pipeline parser uses: libyaml's safe loader where PyYAML has it.

Buildspecs, pipeline files and inline buildspecs come from users. PyYAML's pure-Python
scanner takes time quadratic in flow nesting (`[[[[...`: 3,000 levels, 6 kB of text,
take half a minute) and its composer recurses once per level; libyaml is linear and
refuses more than 1,000 levels with a ScannerError, a YAMLError like any other. The
pure-Python loader is the fallback where PyYAML was built without libyaml (its wheels
bundle it); callers still turn a RecursionError into their own error for that case.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.reader import ReaderError

_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SafeLoader(_BASE):  # type: ignore[misc]
    """libyaml reads UTF-8: text with a lone surrogate (which no file holds, but a
    decoded JSON string can) is refused as the pure-Python reader refuses it, with a
    YAMLError, not a UnicodeEncodeError."""

    def __init__(self, stream: Any) -> None:
        if isinstance(stream, str):
            try:
                stream.encode()
            except UnicodeEncodeError as e:
                character = ord(stream[e.start])
                raise ReaderError("<text>", e.start, character, "utf-8", "not text") from None
        super().__init__(stream)


SAFE_LOADER: Any = _SafeLoader
