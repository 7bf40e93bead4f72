"""The one error type callers of ``models`` need to catch.

Every message names the model and says how an operator fixes the problem, because these errors surface on a
hall's edge node where the person reading them has a terminal, not the source code.
"""

from __future__ import annotations

__all__ = ["ModelError"]


class ModelError(Exception):
    """A model cannot be found, verified, loaded or run.

    ``model`` is the manifest name (or ``None`` when the problem is not tied to one model) and ``fix`` the
    operator action, both also part of ``str(error)``.
    """

    def __init__(self, model: str | None, problem: str, fix: str | None = None) -> None:
        self.model = model
        self.problem = problem
        self.fix = fix
        prefix = f"model {model!r}: " if model else ""
        suffix = f"; {fix}" if fix else ""
        super().__init__(f"{prefix}{problem}{suffix}")
