"""SCIM resource endpoints (RFC 7644 §3): Users, Groups, search, PATCH and Bulk."""
