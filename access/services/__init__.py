"""Access use cases: each takes the session and the caller, commits or raises a DomainError."""
