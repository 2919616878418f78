"""What every area relies on: accounts, security, errors, the API contract under fuzzing, backups, the demo, operations, webhooks."""
