"""Finals and group match play: pure engines (no database, no web) that a format object calls.

``groups`` splits a field into groups and snakes seeds over them, ``bracket`` builds and resolves
a finals bracket, ``points`` scores group games and seeds qualifiers, ``matchplay`` pairs rounds
of group match play and ranks it. See docs/finals.rst.
"""
