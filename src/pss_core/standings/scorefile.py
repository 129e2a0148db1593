"""Reading score rows from a CSV file (``pss standings``), and scores as people write them."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable

from pss_core.contract.standings import MAX_SCORE, ScoreRow
from pss_core.errors import InvalidInput

SCORE_COLUMNS = ("player", "machine", "score")
OPTIONAL_COLUMNS = ("entry", "team")
_PLAIN = re.compile(r"\d+")
# One kind of separator, groups of three: the same scores the scorekeeper's form accepts.
_GROUPED = re.compile(r"\d{1,3}(?:([,. '_\u00a0\u202f])\d{3})(?:\1\d{3})*")


def parse_score(raw: str) -> int:
    """A score as people write it: ``1234567``, or grouped in threes by one kind of separator —
    commas, points, spaces, apostrophes or underscores (``1,234,567``, ``1.234.567``). Decimals
    (``12.5``), signs and anything else are refused."""
    value = raw.strip()
    if _PLAIN.fullmatch(value):
        score = int(value)
    elif _GROUPED.fullmatch(value):
        score = int(re.sub(r"\D", "", value))
    elif value == "":
        raise ValueError("the score is empty")
    else:
        raise ValueError(
            f"the score {raw!r} is not a whole number (digits only, optionally "
            "grouped in threes like 1,234,567)"
        )
    if score > MAX_SCORE:
        raise ValueError(f"the score {raw!r} is larger than pss can store")
    return score


def read_score_rows(lines: Iterable[str], *, team: bool = False) -> list[ScoreRow]:
    """Parse a CSV of scores: a header naming ``player``, ``machine`` and ``score`` (in any order;
    ``entry`` and ``team`` are optional, and ``team`` is required when ``team`` is true), then one
    game per line. Raises :class:`~pss_core.errors.InvalidInput` naming the line of the first
    problem."""
    reader = csv.reader(lines)
    header: list[str] | None = None
    for raw_header in reader:
        if any(cell.strip() for cell in raw_header):
            header = [cell.strip().lower() for cell in raw_header]
            break
    if header is None:
        raise InvalidInput(
            "The file is empty; it needs a header line: player,machine,score.",
            code="bad_score_file",
            line=1,
        )
    header_line = reader.line_num
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]

    def fail(line: int, problem: str) -> InvalidInput:
        return InvalidInput(f"Line {line}: {problem}", code="bad_score_file", line=line)

    required = (*SCORE_COLUMNS, "team") if team else SCORE_COLUMNS
    for name in header:
        if name not in SCORE_COLUMNS + OPTIONAL_COLUMNS:
            raise fail(
                header_line,
                f"unknown column {name!r} (the columns are "
                f"{', '.join(SCORE_COLUMNS + OPTIONAL_COLUMNS)}).",
            )
        if header.count(name) > 1:
            raise fail(header_line, f"the column {name!r} appears twice.")
    missing = [name for name in required if name not in header]
    if missing:
        raise fail(
            header_line,
            f"the header needs the column(s) {', '.join(missing)} (found {', '.join(header)}).",
        )
    index = {name: header.index(name) for name in header}
    rows: list[ScoreRow] = []
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise fail(
                line, f"expected {len(header)} values ({', '.join(header)}), found {len(cells)}."
            )
        values = {name: cells[i].strip() for name, i in index.items()}
        for name in required:
            if values[name] == "":
                raise fail(line, f"the {name} is empty.")
        try:
            score = parse_score(values["score"])
        except ValueError as exc:
            raise fail(line, f"{exc}.") from None
        rows.append(
            ScoreRow(
                player=values["player"],
                machine=values["machine"],
                score=score,
                entry=values.get("entry") or None,
                team=values.get("team") or None,
                line=line,
            )
        )
    return rows
