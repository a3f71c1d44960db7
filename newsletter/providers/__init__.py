"""Provider adapters, one module each; ``registry.make_provider`` picks the configured one."""
