"""The views, one module per area; ``config.scan("pss_web.views")`` picks up every module here.

public (events, standings, machines, players), tv, auth (the three logins), admin (event owners),
manage (tournament director and event staff), api (OpenAPI), errors (refusals as 4xx).
"""
