"""Sizes as people write them in policies: ``400MB``, ``1.5GiB``, ``20Mb`` or plain bytes.

Owns :func:`parse_size`. Decimal units are powers of 1000 and binary units
(``KiB``, ``MiB`` ...) powers of 1024, as docker, dive (go-humanize
``ParseBytes``) and Kubernetes quantities read them; unit letters are not
case-sensitive (dive's own ``.dive-ci`` writes ``20Mb`` for 20,000,000 bytes).
Imports nothing from ballast. Pure.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Final

SIZE_HINT: Final = "use 400MB, 1.5GiB or bytes"
"""What a size looks like, for error messages."""

SIZE_PATTERN: Final = r"^\s*[0-9]+(\.[0-9]+)?\s*([kKmMgGtTpP]([iI])?[bB]?|[bB])?\s*$"
"""The same grammar as the JSON schema's ``size`` definition (kept in step by a test)."""

_SIZE_RE: Final = re.compile(
    r"^\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>(?:[kmgtp]i?b?|b)?)\s*$", re.IGNORECASE
)
_POWERS: Final = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}
MAX_SIZE_BYTES: Final = 2**63 - 1
"""The largest size a policy may give (what a signed 64-bit counter holds)."""


def parse_size(value: object) -> int:
    """Return the bytes a size means; raise ValueError saying why it is not a size.

    Accepts non-negative integers (bytes) and strings such as ``400MB``
    (400,000,000), ``400MiB`` (419,430,400), ``1.5GiB``, ``20Mb``, ``512k`` and
    ``1000``. Fractions of a byte are rounded down. Booleans and floats are
    refused: YAML turns ``yes`` into True and ``1e9`` into a float, neither of
    which someone meant as a size.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size ({SIZE_HINT})")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{value} is negative; a size is 0 or more bytes")
        if value > MAX_SIZE_BYTES:
            raise ValueError(f"{value} is larger than any image can be")
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a size ({SIZE_HINT})")
    match = _SIZE_RE.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a size ({SIZE_HINT})")
    unit = match["unit"].lower().removesuffix("b")
    binary = unit.endswith("i")
    power = _POWERS[unit.removesuffix("i")]
    base = 1024 if binary else 1000
    result = Fraction(match["number"]) * base**power  # exact: 576460752305MB stays whole
    if result > MAX_SIZE_BYTES:
        raise ValueError(f"{value!r} is larger than any image can be")
    return int(result)
