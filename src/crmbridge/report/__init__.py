"""The weekly marketing–sales review (``crmbridge report``): KPIs from the store,
shown in the terminal, as JSON, CSV files and a self-contained HTML page."""
