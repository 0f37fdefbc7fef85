"""Role checks for views: every view names the roles that may use it."""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app, request
from flask_login import current_user

from helpdesk.auth.models import Role

ALL_STAFF = (Role.admin, Role.agent, Role.marketer)
SUPPORT = (Role.admin, Role.agent)
MARKETING = (Role.admin, Role.marketer)


def roles_required(*roles: Role):
    """Logged-out users are sent to the login page; logged-in users without the role get 403."""
    allowed = frozenset(roles)

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = allowed
        return wrapper

    return decorator


def public(view):
    """Marks a view that anyone may use (login page, public FAQ, tracking links)."""
    view.allowed_roles = None
    return view


def client_ip() -> str:
    return request.remote_addr or "unknown"
