"""Services: what staff and players do, each one transaction-safe and audit-logged."""
