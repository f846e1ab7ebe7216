"""The enterprise credit service as we speak to it: a unit's registration status for the audit view."""
