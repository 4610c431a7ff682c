"""The HubSpot connector against the sandbox: reads, writes, conformance, recovery."""
