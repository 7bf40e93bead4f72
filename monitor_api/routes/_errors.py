"""Storage errors as problem details."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from monitor_api.problems import ApiProblem
from monitor_api.storage import InvalidTransition, NotFound, SecondReviewerRequired


@contextmanager
def storage_errors() -> Iterator[None]:
    try:
        yield
    except NotFound as error:
        raise ApiProblem(404, str(error)) from None
    except InvalidTransition as error:
        raise ApiProblem(409, str(error)) from None
    except SecondReviewerRequired as error:
        raise ApiProblem(403, str(error)) from None
    except IntegrityError:
        # A concurrent request did the same thing first (e.g. two reviewers at once: one review per incident).
        raise ApiProblem(409, "conflicting concurrent change; reload and try again") from None
