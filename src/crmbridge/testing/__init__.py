"""Test utilities shipped with crmbridge: a fake CRM for pipeline tests."""
