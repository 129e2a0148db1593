"""The OpenAPI document is generated from the registered views: every view is in it, with its
methods, permission, summary and request fields, and new views appear without writing docs."""

from __future__ import annotations

from typing import Any

from webtest import TestApp

from pss_testing.web import JSON


def test_every_view_is_described(webapp: TestApp) -> None:
    doc = webapp.get("/api/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    paths = doc["paths"]
    expected = {
        ("/", "get"),
        ("/events/{event}/", "get"),
        ("/events/{event}/tv", "get"),
        ("/events/{event}/tournaments/{tournament}/", "get"),
        ("/events/{event}/machines/{machine}/", "get"),
        ("/events/{event}/players/{number}/", "get"),
        ("/events/{event}/login", "post"),
        ("/events/{event}/player-login", "post"),
        ("/events/{event}/logout", "post"),
        ("/admin/login", "post"),
        ("/events/{event}/tournaments/", "post"),
        ("/events/{event}/tournaments/{tournament}/edit", "post"),
        ("/events/{event}/machines/{machine}/status", "post"),
        ("/events/{event}/users/", "post"),
        ("/admin/events/{event}/users/", "post"),
        ("/admin/events/", "post"),
        ("/admin/events/{event}/", "post"),
    }
    present = {(path, method) for path, ops in paths.items() for method in ops}
    assert expected <= present
    # Every registered view is there, per resource path it can be reached at.
    registry = webapp.app.registry
    for decl in registry["pss.views"]:
        for template in decl.context.api_paths:
            path = f"{template}/{decl.name}" if decl.name else f"{template}/"
            for method in decl.methods:
                assert method.lower() in paths[path], (path, method)


def test_operations_say_what_they_need(webapp: TestApp) -> None:
    paths: dict[str, Any] = webapp.get("/api/openapi.json").json["paths"]
    create = paths["/events/{event}/tournaments/"]["post"]
    assert create["x-permission"] == "manage"
    assert create["summary"].startswith("Create a tournament")
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"name", "format"}
    assert schema["properties"]["price"]["pattern"]
    assert create["security"] == [{"session": [], "csrf": []}]
    login = paths["/events/{event}/player-login"]["post"]
    assert (
        login["requestBody"]["content"]["application/json"]["schema"]["properties"]["number"][
            "type"
        ]
        == "integer"
    )
    standings = paths["/events/{event}/tournaments/{tournament}/"]["get"]
    assert "304" in standings["responses"]
    assert [p["name"] for p in standings["parameters"]] == ["event", "tournament"]
    assert paths["/events/{event}/users/{username}/"]["get"]["x-permission"] == "manage_users"
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def test_csrf_endpoint_matches_the_cookie(webapp: TestApp) -> None:
    token = webapp.get("/api/csrf", headers=JSON).json["csrf_token"]
    assert webapp.cookies["csrf_token"] == token


def _schemas(node: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every schema object in a document part, with where it is."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if "enum" in node:
            found.append((where, node))
        for key, value in node.items():
            found += _schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _schemas(value, f"{where}/{i}")
    return found


def test_every_enum_is_on_a_scalar(webapp: TestApp) -> None:
    """An ``enum`` lists the values a scalar may take; on an array or object it would list whole
    arrays, and a client (or a fuzzer) could build no request from it."""
    doc = webapp.get("/api/openapi.json").json
    enums = _schemas(doc["paths"])
    assert enums, "the document has choices (roles, formats): some enum must be there"
    wrong = [
        where
        for where, schema in enums
        if schema.get("type") not in ("string", "integer", "number", "boolean")
        or not all(isinstance(v, str | int | float | bool) for v in schema["enum"])
    ]
    assert wrong == []
    # The roles of a new event user: an array of strings, each one of the roles.
    add = doc["paths"]["/events/{event}/users/"]["post"]
    roles = add["requestBody"]["content"]["application/json"]["schema"]["properties"]["roles"]
    assert roles["type"] == "array"
    assert "enum" not in roles
    assert set(roles["items"]["enum"]) >= {"desk", "scorekeeper"}


def test_actions_on_a_game_require_its_token(webapp: TestApp) -> None:
    paths = webapp.get("/api/openapi.json").json["paths"]
    for name in ("score", "void", "misconduct", "remove-player"):
        op = paths[f"/events/{{event}}/machines/{{machine}}/{name}"]["post"]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        assert "token_id" in schema["required"], name
        assert op["requestBody"]["required"] is True
        assert "game_changed" in op["description"]
