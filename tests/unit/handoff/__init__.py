"""Hand-off rules: assignment, business hours, lead owner, notification, replies, SLA."""
