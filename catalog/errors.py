"""Errors a user can act on. Each one builds its message once, naming where the problem is."""

from __future__ import annotations

from dataclasses import dataclass, field


class SkuflowError(Exception):
    """Base of every error skuflow raises on purpose."""

    transient: bool = False
    """Whether the same call may succeed when tried again later (a timeout, an HTTP 429 or 5xx,
    a lock): the one marker the task retry policy (`tasks/policy.py`) reads, whichever layer
    raised the error. Bad input and refusals stay False."""


@dataclass(frozen=True)
class InputProblem:
    """One thing wrong with an input: which file, which row (1-based, as a spreadsheet shows it,
    header included), which column, and why."""

    source: str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = [self.source]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


@dataclass
class InputError(SkuflowError):
    """An input cannot be read as the schema asks; nothing from it was stored."""

    problems: list[InputProblem] = field(default_factory=list)
    truncated: int = 0
    """How many further problems were found but not listed."""

    def __post_init__(self) -> None:
        super().__init__(str(self))

    @classmethod
    def single(
        cls, source: str, message: str, *, row: int | None = None, column: str | None = None
    ) -> InputError:
        return cls([InputProblem(source=source, message=message, row=row, column=column)])

    def __str__(self) -> str:
        lines = [str(p) for p in self.problems]
        if self.truncated:
            lines.append(f"… and {self.truncated} more problem(s)")
        return "\n".join(lines) if lines else "input error"


class ValidationFailed(SkuflowError):
    """A blocking expectation failed: the run halts and nothing is distributed."""

    def __init__(self, report_path: str, summary: str) -> None:
        self.report_path = report_path
        self.summary = summary
        super().__init__(f"validation failed, run halted; report: {report_path}\n{summary}")


class NotFound(SkuflowError):
    """A catalogue, record, change or run that was asked for does not exist."""


class StateConflict(SkuflowError):
    """The thing acted on is no longer in the state the action needs (a change already decided
    by someone else, a conflict already resolved); nothing was changed."""
