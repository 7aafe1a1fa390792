"""The task API's error codes (seed 002), each with the HTTP status it is answered with.

The seed names the codes but not their statuses; these follow HTTP's meaning: a missing thing
is 404, a state conflict 409, a malformed selection 400, a limit 429.
"""

from __future__ import annotations

from catalog.errors import SkuflowError

STATUS_OF_CODE = {
    "DATASET_LOCKED": 409,
    "DATASET_NOT_FOUND": 404,
    "TASK_NOT_FOUND": 404,
    "TASK_NOT_CANCELLABLE": 409,
    "INVALID_SELECTION": 400,
    "QUOTA_EXCEEDED": 429,
    "WEBHOOK_NOT_FOUND": 404,
}


class TaskApiError(SkuflowError):
    """A refusal a client can act on: ``code`` is one of `STATUS_OF_CODE`."""

    def __init__(self, code: str, message: str) -> None:
        if code not in STATUS_OF_CODE:
            raise ValueError(f"unknown task error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return STATUS_OF_CODE[self.code]
