"""Page family declarations: which pages exist, which sources they read, their view models.

``site`` is what the renderer loads (``MODELS`` and ``FAMILIES``).  Expand
functions only assemble plain view dicts from models; all HTML lives in the
Mako templates and all number/time formatting in ``alliumd.model``.
"""
