"""The alliumd benchmark (``python -m bench``); see run.py."""
