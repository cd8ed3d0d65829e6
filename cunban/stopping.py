"""How a cunban process on eventlet stops.

- A stop signal's handler only notes the signal, on a pipe. Python runs a handler in whichever green thread
  happens to be running when the signal comes; one that set an eventlet Event there (as `run-service` did)
  would touch the hub's timers in the middle of whatever it was doing. A green thread reads the pipe and
  starts the stop.
- The graceful stop (workers finish, consumers cancelled, messages settled) takes about 2 s. A real thread
  watches it: one that has not ended after STOP_SECONDS is stuck, so the stack of every green thread is
  logged and the process exits with 1, before the orchestrator's SIGKILL would end it without a word (docker
  compose kills at 10 s, Kubernetes at 30 s). What was in flight is redelivered: nothing is lost by exiting."""
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

    real_os = _real_os()
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
    import eventlet.patcher

    threading = eventlet.patcher.original("threading")
    ended = threading.Event()
    started = time.monotonic()

    def watch() -> None:
        if not ended.wait(STOP_SECONDS):
            _write_log(logging.ERROR, f"{what} did not stop within {STOP_SECONDS:.0f} s; exiting. What each green "
                                      "thread was doing:\n" + green_stacks())
            os._exit(1)

    threading.Thread(target=watch, name="stop-watchdog", daemon=True).start()
    stop()
    ended.set()
    log.info("%s stopped in %.1f s", what, time.monotonic() - started)


def green_stacks() -> str:
    """The stack of every live green thread, and of the real threads, for a log."""
    import greenlet

    stacks = [f"thread {thread_id}:\n" + "".join(traceback.format_stack(frame))
              for thread_id, frame in sys._current_frames().items()]
    stacks += ["green thread:\n" + "".join(traceback.format_stack(g.gr_frame))
               for g in gc.get_objects() if isinstance(g, greenlet.greenlet) and g.gr_frame is not None]
    return "\n".join(stacks)


def _write_log(level: int, message: str) -> None:
    """One JSON log line written straight to stderr: a real thread must not take the logging handler's lock,
    which eventlet made green."""
    from shared.logs import JsonFormatter

    record = logging.LogRecord("cunban", level, __file__, 0, message, None, None)
    _real_os().write(sys.stderr.fileno(), (JsonFormatter().format(record) + "\n").encode())


def _real_os() -> Any:
    """The os module as it was before eventlet's patching (whose os.write waits on the hub for a pipe)."""
    import eventlet.patcher

    return eventlet.patcher.original("os")
