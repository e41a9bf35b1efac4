"""What one delivery attempt came to: a plain value, so code that reads outcomes (the
dispatcher's bookkeeping, email notifications, the CLI) need not import the HTTP client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None
    excerpt: str
    error: str
    duration_ms: int
    retry_after: float | None = None
    refused: bool = False  # the SSRF guard said no: retrying cannot help

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        if self.refused:
            return False
        if self.status is None:
            return True  # network error or timeout
        return self.status in (408, 429) or self.status >= 500
