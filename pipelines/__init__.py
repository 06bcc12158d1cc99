"""dlt loaders of flowmart: one module per source system, each runnable on its own."""
