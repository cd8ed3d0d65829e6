"""How a cunban process on eventlet stops.

- A stop signal's handler only notes the signal, on a pipe. Python runs a handler in whichever green thread
  happens to be running when the signal comes; one that set an eventlet Event there (as `run-service` did)
  would touch the hub's timers in the middle of whatever it was doing. A green thread reads the pipe and
  starts the stop.
- The graceful stop (workers finish, consumers cancelled, messages settled) takes about 2 s. A real thread
  watches it: one that has not ended after STOP_SECONDS is stuck, so the stack of every thread, green or
  real, is logged (a JSON line each) and the process exits with 1, before the orchestrator's SIGKILL would
  end it without a word (docker compose kills at 10 s, Kubernetes at 30 s). What was in flight is
  redelivered: nothing is lost by exiting."""
from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

STOP_SECONDS = 8.0

log = logging.getLogger("cunban")


def on_stop_signal(stop: Callable[[str], None]) -> None:
    """Call `stop(signal name)` in a green thread of its own at the first SIGTERM or SIGINT."""
    import eventlet
    from eventlet.hubs import trampoline

    real_os = _unpatched("os")
    read_end, write_end = real_os.pipe()
    real_os.set_blocking(read_end, False)
    real_os.set_blocking(write_end, False)
    for sig in (signal.SIGTERM, signal.SIGINT):  # eventlet's os.write would wait on the hub
        signal.signal(sig, lambda signum, _frame: real_os.write(write_end, bytes([signum])))

    def listen() -> None:
        trampoline(read_end, read=True)
        stop(signal.Signals(real_os.read(read_end, 1)[0]).name)

    eventlet.spawn_n(listen)


def stop_watched(stop: Callable[[], None], what: str) -> None:
    """Run `stop()` (a runner's graceful stop), watched from a real thread (see the module's doc)."""
    threading = _unpatched("threading")
    ended = threading.Event()
    started = time.monotonic()

    def watch() -> None:
        if ended.wait(STOP_SECONDS):
            return
        try:
            _write_log(f"{what} did not stop within {STOP_SECONDS:.0f} s; exiting. What each thread was doing "
                       "follows, a line each")
            for stack in green_stacks():
                _write_log(f"{what}, stuck: {stack}")
        finally:  # whatever the log could take, the process ends
            os._exit(1)

    threading.Thread(target=watch, name="stop-watchdog", daemon=True).start()
    try:
        stop()
    finally:
        ended.set()
    log.info("%s stopped in %.1f s", what, time.monotonic() - started)


def green_stacks() -> list[str]:
    """The stack of each real thread and each live green thread, innermost call last."""
    import greenlet

    gc.unfreeze()  # the green threads made at start-up were frozen with it (freeze_startup_objects)
    stacks = [f"thread {thread_id}:\n" + "".join(traceback.format_stack(frame))
              for thread_id, frame in sys._current_frames().items()]
    stacks += ["green thread:\n" + "".join(traceback.format_stack(g.gr_frame))
               for g in gc.get_objects() if isinstance(g, greenlet.greenlet) and g.gr_frame is not None]
    return stacks


LOG_LINE_LIMIT = 12_000  # characters: container runtimes split a line over 16 KiB; a deep stack keeps its end


def _write_log(message: str) -> None:
    """One JSON error line written straight to stderr, whole: a real thread must not take the logging
    handler's lock, which eventlet made green."""
    from shared.logs import JsonFormatter

    if len(message) > LOG_LINE_LIMIT:
        message = "…" + message[-LOG_LINE_LIMIT:]
    record = logging.LogRecord("cunban", logging.ERROR, __file__, 0, message, None, None)
    line, write = (JsonFormatter().format(record) + "\n").encode(), _unpatched("os").write
    while line:
        line = line[write(sys.stderr.fileno(), line):]


def _unpatched(module: str) -> Any:
    """A module as it was before eventlet's patching: real threads, and an os.write that does not wait on
    the hub for a pipe."""
    import eventlet.patcher

    return eventlet.patcher.original(module)
