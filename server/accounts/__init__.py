"""Office users, roles and permissions, sessions and the audit trail."""
