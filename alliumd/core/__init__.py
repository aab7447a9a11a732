"""Primitives every layer shares, written once: times, JSON, operator text, the child channel,
parent-death set-up and exit codes.  The bottom layer: it imports nothing else of alliumd."""
