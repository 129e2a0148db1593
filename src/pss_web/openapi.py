"""The OpenAPI document, generated from the views the app has registered (see
:func:`pss_web.viewkit._declare`): paths from each resource class's ``api_paths``, methods and
permissions from the view configuration, summaries from docstrings, request bodies from the
declared :class:`~pss_web.viewkit.Field` tuples."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from pss_core.services.idempotency import MAX_KEY_LENGTH
from pss_web.viewkit import ViewDecl

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "a machine-readable code"},
        "message": {"type": "string", "description": "what went wrong, in plain words"},
    },
    "additionalProperties": True,
}

ERROR_RESPONSES = {
    "400": "the input is malformed or out of range",
    "401": "a login to this event (or the admin interface) is needed",
    "403": "the login may not do this, or the CSRF token is missing",
    "404": "no such thing here",
    "409": "refused in the current state",
    "429": "too many attempts or busy; see Retry-After",
}


def field_schema(field: Any) -> dict[str, Any]:
    """A field's schema, with any ``enum`` on the scalar it constrains: a list of choices is an
    array whose items are enumerated (an ``enum`` on the array itself would list the arrays
    allowed, which no client can build a request from)."""
    return _enum_on_items(field.openapi())


def _enum_on_items(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    if schema.get("type") == "array":
        items = dict(schema.get("items") or {})
        if "enum" in schema:
            items["enum"] = schema.pop("enum")
        schema["items"] = _enum_on_items(items)
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            schema[key] = [_enum_on_items(s) for s in schema[key]]
    if isinstance(schema.get("properties"), dict):
        schema["properties"] = {k: _enum_on_items(v) for k, v in schema["properties"].items()}
    return schema


def _path(template: str, name: str) -> str:
    if name:
        return f"{template}/{name}"
    return f"{template}/"


def _operation(decl: ViewDecl, method: str, path: str) -> dict[str, Any]:
    doc = decl.doc or decl.function.replace("_", " ")
    summary, _, description = doc.partition("\n")
    params = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
        for p in re.findall(r"{(\w+)}", path)
    ]
    op: dict[str, Any] = {
        "operationId": method.lower()
        + "_"
        + (re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"),
        "summary": summary.strip(),
        "tags": [path.strip("/").split("/")[0] or "root"],
        "x-permission": decl.permission,
        "parameters": params,
        "responses": {
            "200": {
                "description": "the page's data as JSON (send Accept: application/json)",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **{
                code: {
                    "description": text,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
                for code, text in ERROR_RESPONSES.items()
            },
        },
    }
    if description.strip():
        op["description"] = " ".join(description.split())
    if decl.live and method == "GET":
        op["description"] = (
            op.get("description", "") + " Answers If-None-Match with 304 "
            "while nothing changed (poll it cheaply)."
        ).strip()
        op["responses"]["304"] = {"description": "unchanged since the ETag you sent"}
    if method != "GET":
        op["security"] = [{"session": [], "csrf": []}]
        properties = {f.name: field_schema(f) for f in decl.fields}
        required = [f.name for f in decl.fields if f.required]
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        op["requestBody"] = {
            "required": bool(required),
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
            },
        }
        op["responses"]["201"] = {
            "description": "created",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
        if decl.idempotent:
            _takes_idempotency_key(op)
    elif decl.permission not in ("view", ""):
        op["security"] = [{"session": []}]
    return op


IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Send the request again safely: the same key with the same request (method, path and "
        "body) gets the first answer again, with Idempotent-Replayed: true, and nothing is done "
        "twice; the same key with another request is 409 idempotency_key_reused. Keys belong "
        "to the login that sent them and are kept for 24 hours; a refused request is not kept."
    ),
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": "^[!-~]+$",
        "description": f"1 to {MAX_KEY_LENGTH} visible ASCII characters (a random UUID)",
    },
}
REPLAYED_HEADER = {
    "description": "true when this is the first answer to the same Idempotency-Key, replayed",
    "schema": {"type": "string", "enum": ["true"]},
}


def _takes_idempotency_key(op: dict[str, Any]) -> None:
    """An ``@action``: document its ``Idempotency-Key`` header and what a repeat answers."""
    op["parameters"].append(IDEMPOTENCY_PARAMETER)
    for code in ("200", "201"):
        op["responses"][code] = {
            **op["responses"][code],
            "headers": {"Idempotent-Replayed": REPLAYED_HEADER},
        }
    op["responses"]["409"] = {
        **op["responses"]["409"],
        "description": ERROR_RESPONSES["409"]
        + "; or the Idempotency-Key was used for another request (idempotency_key_reused) or "
        "its first request still runs (idempotency_in_progress)",
    }


def openapi_document(request: Any) -> dict[str, Any]:
    decls: list[ViewDecl] = request.registry.get("pss.views", [])
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for decl in decls:
        for template in getattr(decl.context, "api_paths", ()):
            path = _path(template, decl.name)
            for method in decl.methods:
                paths[path][method.lower()] = _operation(decl, method, path)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pss",
            "version": "1",
            "description": (
                "Every page has a JSON twin at the same URL: send Accept: application/json. "
                "Unsafe requests take a JSON object body (or a form) and need the CSRF token in "
                "the X-CSRF-Token header (GET /api/csrf, or the csrf_token cookie). Log in by "
                "POSTing to /admin/login, /events/{event}/login or /events/{event}/player-login; "
                "the session cookie is valid only there. Errors are {error, message}."
            ),
        },
        "servers": [{"url": request.application_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "pss_event_{id}",
                    "description": "the login's session cookie (pss_admin for the admin interface)",
                },
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }
