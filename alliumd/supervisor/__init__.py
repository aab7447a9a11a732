"""The supervisor: one single-threaded process that owns every child's lifecycle.

- ``daemon``     the selectors loop; each signal is one ``handle_*`` method
- ``children``   a child process handle (spawn, talk, stop) and its respawn bookkeeping
- ``reconcile``  pure diff of the desired config against what runs (start/stop/restart)
- ``control``    the UNIX control socket (one NUL-terminated JSON request per connection)
- ``sdnotify``   systemd notifications without a dependency
- ``once``       ``alliumd --once``: fetch everything in parallel, render, exit
- ``lock``       one instance per run_dir
"""
