"""The admin pages' messages: both languages complete, defined once, and naming every role, key scope and audit
action the API knows."""
from __future__ import annotations

import re

from monitor_api.dashboard.admin_pages import ERROR_FIELDS, ERROR_STATUSES
from monitor_api.dashboard.admin_views import AUDIT_ACTIONS, ROLES, SCOPES
from monitor_api.dashboard.catalogue_admin_en import ADMIN_EN
from monitor_api.dashboard.catalogue_admin_zh import ADMIN_ZH
from monitor_api.dashboard.catalogue_en import EN as BASE_EN
from monitor_api.dashboard.catalogue_zh import ZH as BASE_ZH
from monitor_api.dashboard.i18n import EN, ZH
from tests.conftest import REPO


def test_admin_messages_are_complete_in_both_languages_and_defined_once() -> None:
    assert set(ADMIN_ZH) == set(ADMIN_EN), set(ADMIN_ZH) ^ set(ADMIN_EN)
    fields = re.compile(r"\{(\w+)\}")
    for key, text in ADMIN_ZH.items():
        assert text.strip() and ADMIN_EN[key].strip(), key
        assert set(fields.findall(text)) == set(fields.findall(ADMIN_EN[key])), key
    assert not set(ADMIN_ZH) & set(BASE_ZH) and not set(ADMIN_EN) & set(BASE_EN)
    assert set(ADMIN_ZH) <= set(ZH) and set(ADMIN_EN) <= set(EN)


def test_roles_scopes_and_refusals_the_api_knows_have_words() -> None:
    from monitor_api.auth.keys import SCOPES as API_SCOPES
    from monitor_api.storage.models import Role

    assert set(ROLES) == {role.value for role in Role}
    assert SCOPES == API_SCOPES
    for role in ROLES:
        assert f"admin.role_hint.{role}" in ADMIN_ZH
    for scope in SCOPES:
        assert f"admin.scope.{scope}" in ADMIN_ZH
    for name in ERROR_FIELDS:
        assert f"admin.error.{name}" in ADMIN_ZH
    for status in ERROR_STATUSES:
        assert f"admin.error.status.{status}" in ADMIN_ZH
    for state in ("active", "inactive", "locked"):
        assert f"admin.users.status.{state}" in ADMIN_ZH
    for state in ("active", "expired", "revoked"):
        assert f"admin.keys.state.{state}" in ADMIN_ZH


def test_every_audit_action_the_code_records_can_be_filtered_and_is_named() -> None:
    recorded = set()
    literal = re.compile(r'record_audit\(\s*session,\s*[^,]+,\s*f?"([a-z_.{}]+)"')
    for path in (REPO / "monitor_api").rglob("*.py"):
        recorded |= set(literal.findall(path.read_text(encoding="utf-8")))
    assert "user.create" in recorded, "the pattern is out of date"
    recorded.discard("readyz.probe")  # written and rolled back by the readiness probe
    expanded = set()
    for action in recorded:
        if action == "incident.{decision.value}":
            expanded |= {"incident.confirm", "incident.dismiss"}
        elif action == "appeal.{decision.value}":
            expanded |= {"appeal.upheld", "appeal.rejected"}
        else:
            expanded.add(action)
    constants = {"session.revoke", "label_sample.label"}  # SESSION_REVOKE, LABEL_ACTION
    assert expanded | constants <= set(AUDIT_ACTIONS), (expanded | constants) - set(AUDIT_ACTIONS)
    for action in AUDIT_ACTIONS:
        assert f"admin.action.{action}" in ADMIN_ZH, action
