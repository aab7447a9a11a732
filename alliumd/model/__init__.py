"""Pure functions from parsed source documents to plain view-model dicts.

Nothing here touches the file system, the clock or HTML: models are computed
from a document alone (reference times come from the document itself), so the
same input always yields the same model and the same page bytes.

View models only: reducing upstream documents to the cache summaries is the
fetchers' side (``alliumd.summaries``); models read those summaries through
``alliumd.cache``, and model and summaries never import each other.
"""
