"""The supervisors' dashboard (zh-CN first, English available): server-rendered pages on the API's app.

`router` is mounted by monitor_api.app.create_app without a prefix; it serves /, /login, /dashboard,
/incidents/{id}, /cameras and the dashboard's static files under /dashboard/static/.
"""
from monitor_api.dashboard.pages import router

__all__ = ["router"]
