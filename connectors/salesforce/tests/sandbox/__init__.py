"""End-to-end tests of the Salesforce-compatible sandbox through simple-salesforce."""
