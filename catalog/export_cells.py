"""What an exported cell may carry, whatever the record held: one sanitiser for every export.

Every file skuflow writes for someone else to open — `skuflow export`, `/api/sync`, the file and
marketplace exports — goes through these functions, so a supplier's value cannot turn into
something live in the reader's program:

- A spreadsheet (CSV opened in Excel/LibreOffice, XLSX) runs a cell starting with ``=``, ``+``,
  ``-``, ``@``, tab or carriage return as a formula (``=HYPERLINK(...)``, DDE). Such text is
  written with a leading ``'`` (OWASP's "CSV injection" advice), which spreadsheets show as
  text. Plain numbers (``-5``, ``+3.2``) are not formulas and are left as they are.
- XML 1.0 cannot hold most control characters at all, escaped or not: a file containing one
  does not parse. They are dropped from XML text and attribute values.
"""

from __future__ import annotations

import re

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (or a DDE command)."""

_PLAIN_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?%?")

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udfff]")
"""Characters XML 1.0 does not allow anywhere (C0 controls but tab/LF/CR, U+FFFE/FFFF, lone
surrogates)."""


def spreadsheet_text(text: str) -> str:
    """``text`` as a spreadsheet cell that is never a formula: prefixed with ``'`` when it
    starts like one (and is not a plain number)."""
    if text.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry, so the file always parses."""
    return _XML_ILLEGAL.sub("", text)
