"""The exit-code contract between children, the supervisor and the shell.

A leaf module (stdlib only) so every process agrees on the meaning of a code,
as gunicorn's arbiter does with WORKER_BOOT_ERROR / APP_LOAD_ERROR.
"""

import os

OK = 0                      # intentional stop / success
FAILURE = 1                 # generic failure (e.g. --once rendered nothing)
CONFIG = os.EX_CONFIG       # 78: bad configuration; children exiting with it are fatal at once
OBSERVER_DIED = 70          # renderer: the watchdog observer thread died (respawn us)
ALREADY_RUNNING = 75        # another alliumd holds the run_dir lock (EX_TEMPFAIL)
PARENT_GONE = 76            # child noticed its supervisor disappeared
INTERRUPTED = 130           # --once stopped by Ctrl-C (128 + SIGINT, the shell's convention)

# alliumctl status (LSB status action)
STATUS_RUNNING = 0
STATUS_NOT_RUNNING = 3
STATUS_UNKNOWN = 4

# alliumctl check (Nagios plugin semantics)
CHECK_OK = 0
CHECK_WARNING = 1
CHECK_CRITICAL = 2
CHECK_UNKNOWN = 3

# other alliumctl commands (LSB init-script codes)
CTL_OK = 0
CTL_ERROR = 1
CTL_BAD_ARGS = 2
CTL_NOT_RUNNING = 7


def describe(returncode: int) -> str:
    """Human text for a ``Popen.returncode`` (negative = killed by a signal)."""
    import signal

    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    names = {OK: "exited 0", CONFIG: "exited 78 (configuration error)",
             OBSERVER_DIED: "exited 70 (file watcher died)", PARENT_GONE: "exited 76 (supervisor gone)"}
    return names.get(returncode, f"exited {returncode}")
