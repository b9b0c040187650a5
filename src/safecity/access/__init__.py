"""Access: users, sign-in, tokens and API keys, sharing grants, and the audit trail."""
