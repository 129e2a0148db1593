"""Services: the operations staff and players perform, each one transaction-safe and audit-logged."""
