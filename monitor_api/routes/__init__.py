"""The API's routers, one per concept; `api_router` gathers those under /api/v1."""
from __future__ import annotations

from fastapi import APIRouter

from monitor_api.routes import (
    admin,
    appeals,
    appraisal,
    audit,
    auth,
    cameras,
    complaints,
    evidence,
    halls,
    incidents,
    labelling,
    live,
    windows,
)

api_router = APIRouter()
for module in (auth, halls, incidents, evidence, appeals, windows, cameras, live, audit, admin, appraisal,
               complaints, labelling):
    api_router.include_router(module.router)
