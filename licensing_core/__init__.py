"""The CRM's license system: plan catalog, license tables, assignment with the
seat invariant, the usage ledger and counting. Knows nothing of HTTP or SCIM."""
