"""Mako templates and CSS, installed as the package ``alliumd.templates``.

This file only exists so the directory can ship as package data; see
``alliumd/pages/templates.py``.
"""
