"""The supervisors' dashboard (zh-CN first, English available): server-rendered pages on the API's app.

`monitor_api.dashboard.site.router` is mounted by monitor_api.app.create_app without a prefix; it serves /, /login,
/dashboard, /incidents/{id}, /cameras, /reports, /me, /labelling, /admin and the static files under
/dashboard/static/.
"""
