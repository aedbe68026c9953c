"""What every CRM service shares: configuration, database, outbox, identity, errors."""
