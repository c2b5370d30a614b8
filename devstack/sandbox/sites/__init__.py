"""The sandbox sites, one module per family; each module exposes `router`."""
