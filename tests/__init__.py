"""crmbridge's tests by layer: ``unit`` (pure), ``integration`` (real store, in-process app,
sandbox over HTTP), ``e2e`` (processes, deploy files, docs). Plugin tests live in
``connectors/<name>/tests``."""
