"""The dashboard's router: the live wall, incident and camera pages (pages.py), the report and staff pages
(report_pages.py), the labelling queue (labelling_pages.py) and the admin pages (admin_pages.py).

The pages themselves are public (anonymous visitors get the login page or a redirect to it); every piece of data on
them comes through the API, whose own policies decide what this person sees."""
from __future__ import annotations

from fastapi import APIRouter

from monitor_api.auth.policy import PUBLIC, declare
from monitor_api.dashboard import admin_pages, labelling_pages, pages, report_pages

router = APIRouter(include_in_schema=False)
for module in (pages, report_pages, labelling_pages, admin_pages):
    router.include_router(module.router)
for route in router.routes:
    declare(route, PUBLIC)
