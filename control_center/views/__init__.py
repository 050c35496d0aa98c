"""Control-center pages, one module per product area."""
