"""The built-in tournament formats. Each is a pss plugin that uses only the contract, the
hookspecs, the errors and the models, and is registered through an entry point like any other."""
