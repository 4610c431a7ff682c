"""End-to-end tests of the HubSpot-compatible sandbox through the official SDK."""
