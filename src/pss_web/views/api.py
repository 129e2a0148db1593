"""The JSON API's own pages: the OpenAPI document (built from the declared views, so every new
view is described without writing anything by hand) and a CSRF token for API clients."""

from __future__ import annotations

from typing import Any

from pyramid.csrf import get_csrf_token
from pyramid.view import view_config

from pss_web.openapi import openapi_document
from pss_web.resources import ApiResource
from pss_web.security import Permission

P = Permission


@view_config(
    context=ApiResource,
    name="openapi.json",
    permission=P.VIEW,
    renderer="json",
    request_method=("GET", "HEAD"),
)
def openapi(context: ApiResource, request: Any) -> dict[str, Any]:
    """The OpenAPI 3.1 document describing every JSON view."""
    return openapi_document(request)


@view_config(
    context=ApiResource,
    name="csrf",
    permission=P.VIEW,
    renderer="json",
    request_method=("GET", "HEAD"),
)
def csrf(context: ApiResource, request: Any) -> dict[str, Any]:
    """A CSRF token for API clients: send it back as ``X-CSRF-Token`` on every unsafe request
    (it is also set in the ``csrf_token`` cookie)."""
    return {"csrf_token": get_csrf_token(request)}
