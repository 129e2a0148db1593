"""The built-in tournament formats, each a pss plugin using only the public hooks."""
