"""Network memory: the history store (store.py) and its glue to the renderer's models (record.py)."""
