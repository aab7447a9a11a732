"""``alliumctl``: ask the daemon what is going on, and tell it what to do.

- ``main``     argument parsing and the commands (one small function each)
- ``status``   gathering a snapshot (socket, else status file, else state files) and the table
- ``check``    the Nagios-style health evaluation (pure)
"""
