"""Test kit for pss and its plugins: pytest fixtures and a fake Stripe server."""
