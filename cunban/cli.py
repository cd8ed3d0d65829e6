"""The `cunban` command.

  cunban up              the whole system in one process (embedded default: SQLite + in-process broker)
  cunban run-service X   one service, as a deployment runs it (RabbitMQ + PostgreSQL from CUNBAN_*)
  cunban gateway         the HTTP gateway alone, calling services over RabbitMQ
  cunban migrate [X..]   apply each service's migrations
  cunban bootstrap       create the first county, its official calendar and the system administrator
  cunban seed-demo       load the demo county through the running services
  cunban notifications list   the SMS messages made, newest first (what the log provider "sent")
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

# No eventlet or nameko import at module level: the embedded system must choose eventlet's hub first.


def _settings(args: argparse.Namespace) -> Any:
    from shared.settings import Settings, get_settings

    overrides = {key: value for key, value in {
        "amqp_uri": getattr(args, "amqp_uri", None), "db_url": getattr(args, "db_url", None),
        "data_dir": getattr(args, "data_dir", None), "http_host": getattr(args, "host", None),
        "http_port": getattr(args, "port", None)}.items() if value is not None}
    base = get_settings()
    return Settings(**{**base.model_dump(), **overrides}) if overrides else base


def _hold_data_dir(settings: Any, *, always: bool = False) -> Any:
    """The data directory's lock, for a command that writes there (its SQLite files, or with `always`
    whatever it keeps there); None when the databases live elsewhere. Raises DataDirInUse."""
    from cunban.datadir import lock_data_dir

    return lock_data_dir(settings.data_dir) if always or not settings.db_url else None


def cmd_up(args: argparse.Namespace) -> int:
    os.environ.setdefault("EVENTLET_HUB", "asyncio")
    import eventlet

    eventlet.monkey_patch()
    from cunban import embedded
    from cunban.datadir import with_local_secrets
    from cunban.demo import load_demo
    from cunban.registry import SERVICES
    from gateway.app import create_app
    from gateway.rpc import ServiceCalls
    from shared.observability import configure_logging
    from shared.rpc_client import RpcClient

    settings = _settings(args)
    configure_logging(settings.log_level)
    lock = _hold_data_dir(settings, always=True)  # before anything is written: one `cunban up` per data dir
    settings = with_local_secrets(settings)
    log = logging.getLogger("cunban")
    services = list(SERVICES)
    embedded.migrate_all(settings, services)
    runner = embedded.start_services(settings, services)
    client = RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout_seconds, pool_size=settings.rpc_pool_size)
    if not args.no_demo:
        load_demo(client)
    # the in-process broker loses what was in flight at a stop, and a read model may be newer than the data
    # directory: the other services' copies of the staff, stations and calendar are filled again at every start
    _reannounce_directory(settings)
    try:
        embedded.serve_gateway_green(create_app(settings, ServiceCalls(client)), settings.http_host,
                                     settings.http_port)
    finally:
        client.close()
        runner.stop()
        log.info("stopped")
        lock.close()
    return 0


def freeze_startup_objects() -> None:
    """Leave what start-up built (modules, SQLAlchemy mappers, pydantic models: most of the heap) out of
    the garbage collector's full collections. Each of those walked the whole heap and stopped the process
    for 70–400 ms (measured with gc.callbacks under bench/market_day.py's paced load); after the freeze
    they walk only what was made since, and took under 10 ms."""
    import gc

    gc.collect()
    gc.freeze()


def cmd_run_service(args: argparse.Namespace) -> int:
    import eventlet

    eventlet.monkey_patch()
    from prometheus_client import start_http_server

    from cunban import embedded
    from cunban.registry import SERVICES
    from shared.observability import configure_logging

    if args.name not in SERVICES:
        print(f"unknown service {args.name!r}; known: {', '.join(SERVICES)}", file=sys.stderr)
        return 2
    settings = _settings(args)
    configure_logging(settings.log_level)
    if not args.no_migrate:
        embedded.migrate_all(settings, [args.name])
    start_http_server(settings.metrics_port)
    runner = embedded.start_services(settings, [args.name])
    freeze_startup_objects()
    stopped = eventlet.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.ready() or stopped.send(0))

    def died() -> None:  # the container killed itself: exit, so the orchestrator starts a fresh process
        try:
            runner.wait()
        except Exception:
            logging.getLogger("cunban").critical("the %s service died; exiting", args.name, exc_info=True)
            if not stopped.ready():
                stopped.send(1)

    eventlet.spawn(died)
    code = 0
    try:
        code = stopped.wait()
    finally:
        if code == 0:
            runner.stop()
    return code


def cmd_gateway(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.app import create_app
    from gateway.rpc import ServiceCalls
    from shared.observability import configure_logging
    from shared.rpc_client import RpcClient
    from shared.settings import DEVELOPMENT_SECRET

    settings = _settings(args)
    if settings.secret_key == DEVELOPMENT_SECRET and settings.http_host not in ("127.0.0.1", "localhost", "::1"):
        print(f"cunban gateway: refused: without CUNBAN_SECRET_KEY it signs with the published development secret, "
              f"which anyone can forge a token with: it listens on 127.0.0.1 only, not {settings.http_host}",
              file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    client = RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout_seconds, pool_size=settings.rpc_pool_size)
    app = create_app(settings, ServiceCalls(client))
    freeze_startup_objects()
    # X-Forwarded-For is read by the gateway itself, from CUNBAN_TRUSTED_PROXIES only (gateway/audit.py)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False,
                proxy_headers=False)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from cunban import embedded
    from cunban.registry import SERVICES

    settings = _settings(args)
    with contextlib.ExitStack() as held:
        if (lock := _hold_data_dir(settings)) is not None:
            held.callback(lock.close)
        embedded.migrate_all(settings, args.names or list(SERVICES))
    return 0


def _client(settings: Any) -> Any:
    from shared.rpc_client import RpcClient

    return RpcClient(settings.amqp_uri, timeout=max(settings.rpc_timeout_seconds, 60), pool_size=1)


def cmd_bootstrap(args: argparse.Namespace) -> int:
    from shared.contracts.caller import Caller
    from shared.settings import is_placeholder

    settings = _settings(args)
    admin_password = os.environ.get("CUNBAN_ADMIN_PASSWORD")
    if admin_password and settings.environment == "production" and is_placeholder(admin_password):
        print("cunban bootstrap: configuration refused: CUNBAN_ADMIN_PASSWORD is still .env.example's placeholder; "
              "set the first admin's password in .env", file=sys.stderr)
        return 2
    client = _client(settings)
    result = client.call("directory", "bootstrap_county", caller=Caller.system(), code=args.code, name=args.name)
    if admin_password:
        from shared.errors import Conflict

        with contextlib.suppress(Conflict):  # the account exists already: bootstrap is idempotent
            # the installation's first account: the system administrator, who adds counties and their admins
            client.call("directory", "create_staff", caller=Caller.system(), staff={
                "username": "sysadmin", "full_name": "系统管理员", "role": "system_admin",
                "password": admin_password})
    print(f"county {args.code} ready; {result['calendar_days_added']} official calendar days added")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from cunban.demo import load_demo

    loaded = load_demo(_client(_settings(args)))
    print("demo county loaded" if loaded else "demo county already present")
    return 0


def _reannounce_directory(settings: Any) -> dict[str, int]:
    from services.directory.adapters.orm import Base
    from services.directory.service_layer.handlers import reannounce_directory
    from shared.clock import utcnow
    from shared.db import ServiceDatabase

    db = ServiceDatabase("directory", Base.metadata, settings.database_url("directory"))
    uow = db.unit_of_work()
    try:
        return reannounce_directory(uow, now=utcnow())
    finally:
        uow.close()
        db.dispose()


def cmd_reannounce(args: argparse.Namespace) -> int:
    """After an upgrade that adds a read model of the directory's staff, stations or calendar (intake's staff
    and calendar, complaints' stations): the directory's outbox gets every one again, and its relay
    publishes them."""
    from cunban import embedded

    settings = _settings(args)
    lock = _hold_data_dir(settings)
    embedded.migrate_all(settings, ["directory"])
    counts = _reannounce_directory(settings)
    print(f"announced again: {counts['staff_changed']} staff, {counts['station_changed']} stations, "
          f"{counts['calendar_changed']} calendar days")
    if lock is not None:
        lock.close()
    return 0


def cmd_rebuild_figures(args: argparse.Namespace) -> int:
    """Count every logged event again from scratch (evaluation's figures), and say how long it took."""
    from cunban import embedded
    from services.evaluation.adapters.orm import Base
    from services.evaluation.service_layer.handlers import rebuild
    from shared.db import ServiceDatabase

    settings = _settings(args)
    lock = _hold_data_dir(settings)
    embedded.migrate_all(settings, ["evaluation"])
    db = ServiceDatabase("evaluation", Base.metadata, settings.database_url("evaluation"))
    uow = db.unit_of_work()
    try:
        report = rebuild(uow)
    finally:
        uow.close()
        db.dispose()
    print(f"rebuilt the figures from {report.events} events: {report.facts} records counted in {report.seconds} s")
    if lock is not None:
        lock.close()
    return 0


def cmd_reencrypt(args: argparse.Namespace) -> int:
    """Key rotation: re-encrypt every personal field still under an older key with the first key of
    CUNBAN_PII_KEYS; afterwards the old key can be dropped from the list."""
    from cunban import embedded
    from cunban.datadir import with_local_secrets
    from cunban.registry import SERVICES, service_class
    from shared.db import ServiceDatabase
    from shared.pii import PersonalDataVault, reencrypt_all

    settings = _settings(args)
    lock = _hold_data_dir(settings)
    settings = with_local_secrets(settings)  # the keys `cunban up` uses on this data directory
    vault = PersonalDataVault(settings.pii_keys, settings.pii_search_key)
    names = args.names or list(SERVICES)
    embedded.migrate_all(settings, names)
    for name in names:
        metadata = service_class(name).db.metadata
        db = ServiceDatabase(name, metadata, settings.database_url(name))
        try:
            with db.sessions() as session:
                done = reencrypt_all(session, metadata, vault)
        finally:
            db.dispose()
        for column, count in done.items():
            print(f"{name}: {column}: {count} re-encrypted under {vault.current.key_id}")
    if lock is not None:
        lock.close()
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    """Dead letters of the running services: list them, or replay them once their cause is fixed."""
    import json

    from cunban.registry import SERVICES
    from shared.contracts.caller import Caller

    client = _client(_settings(args))
    names = [args.service] if args.service else list(SERVICES)
    for name in names:
        if args.action == "list":
            for letter in client.call(name, "dead_letters", caller=Caller.system(),
                                      query={"include_replayed": args.all, "limit": 1000}):
                print(json.dumps(letter, ensure_ascii=False))
        else:
            ids = [int(i) for i in args.ids] if args.ids and args.service else None
            result = client.call(name, "replay_dead_letters", caller=Caller.system(), request={"ids": ids})
            print(f"{name}: {len(result['replayed'])} replayed, {len(result['failed'])} still failing"
                  + "".join(f"\n  {i}: {error}" for i, error in result["failed"].items()))
    return 0


def cmd_notifications(args: argparse.Namespace) -> int:
    """The SMS messages the system made, newest first (with the `log` provider: what it would have sent), one
    line each: when, status, notice, masked number, text. Read from notifications' own database (the embedded
    system's SQLite file, or CUNBAN_DB_URL's), so it works beside a running `cunban up`."""
    from services.notifications.adapters.orm import Base
    from services.notifications.service_layer.county import messages
    from shared.clock import CHINA
    from shared.contracts.caller import Caller
    from shared.contracts.notifications import MessageQuery
    from shared.db import ServiceDatabase

    settings = _settings(args)
    db = ServiceDatabase("notifications", Base.metadata, settings.database_url("notifications"))
    uow = db.unit_of_work()
    try:
        query = MessageQuery(limit=args.limit, township_code=args.township, status=args.status, kind=args.kind)
        page = messages(uow, caller=Caller.system(), query=query)
    finally:
        uow.close()
        db.dispose()
    for m in page.items:
        when = (m.sent_at or m.send_after).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
        why = f" ({m.withheld})" if m.withheld else f" ({m.error})" if m.error else ""
        print(f"{when}  {m.status}{why}  {m.kind}  {m.phone_masked or '-'}  {m.text or ''}")
    return 0


def cmd_wait(args: argparse.Namespace) -> int:
    """Wait until the broker (and, with --service, that service's database) accepts connections."""
    import time

    from sqlalchemy import create_engine, text

    settings = _settings(args)
    deadline = time.monotonic() + args.timeout

    def ping_database() -> None:
        engine = create_engine(settings.database_url(args.service))
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        finally:
            engine.dispose()

    checks = [("the broker", _client(settings).ping)]
    if args.service:
        checks.append((f"the {args.service} database", ping_database))
    for target, check in checks:
        while True:
            try:
                check()
                print(f"{target} is up", flush=True)
                break
            except Exception as exc:  # noqa: BLE001 - whatever the reason, the server is not there yet
                if time.monotonic() > deadline:
                    print(f"gave up waiting for {target}: {exc}", file=sys.stderr)
                    return 1
                time.sleep(1)
    return 0


def cmd_healthcheck(args: argparse.Namespace) -> int:
    """0 when this container's process answers: the gateway's /healthz, or a service's /metrics."""
    import urllib.request

    settings = _settings(args)
    for url in (f"http://127.0.0.1:{settings.http_port}/healthz", f"http://127.0.0.1:{settings.metrics_port}/metrics"):
        try:
            with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - a fixed local URL
                if response.status == 200:
                    return 0
        except OSError:
            continue
    return 1


def cmd_access_matrix(args: argparse.Namespace) -> int:
    """Print the access matrix as the Markdown table docs/SECURITY.md carries."""
    from shared.contracts.access import markdown_table

    print(markdown_table())
    return 0


def _add_backends(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--amqp-uri", help="broker URL (default memory://, env CUNBAN_AMQP_URI)")
    parser.add_argument("--db-url", help="database URL template with {service} (env CUNBAN_DB_URL)")
    parser.add_argument("--data-dir", type=Path, help="folder for SQLite files (env CUNBAN_DATA_DIR)")


def main(argv: list[str] | None = None) -> int:
    from cunban.registry import SERVICES

    parser = argparse.ArgumentParser(prog="cunban", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the whole system in one process")
    _add_backends(up)
    up.add_argument("--host")
    up.add_argument("--port", type=int)
    up.add_argument("--no-demo", action="store_true", help="do not load the demo county")
    up.set_defaults(func=cmd_up)

    run = sub.add_parser("run-service", help="run one service")
    run.add_argument("name")
    run.add_argument("--no-migrate", action="store_true")
    _add_backends(run)
    run.set_defaults(func=cmd_run_service)

    gw = sub.add_parser("gateway", help="run the HTTP gateway")
    gw.add_argument("--amqp-uri")
    gw.add_argument("--host")
    gw.add_argument("--port", type=int)
    gw.set_defaults(func=cmd_gateway)

    mig = sub.add_parser("migrate", help="apply migrations")
    mig.add_argument("names", nargs="*")
    _add_backends(mig)
    mig.set_defaults(func=cmd_migrate)

    boot = sub.add_parser("bootstrap", help="create the first county, its calendar and the system administrator")
    boot.add_argument("--code", default=os.environ.get("CUNBAN_COUNTY_CODE", "431099"))
    boot.add_argument("--name", default=os.environ.get("CUNBAN_COUNTY_NAME", "清水县"))
    boot.add_argument("--amqp-uri")
    boot.set_defaults(func=cmd_bootstrap)

    demo = sub.add_parser("seed-demo", help="load the demo county through the running services")
    demo.add_argument("--amqp-uri")
    demo.set_defaults(func=cmd_seed_demo)

    rebuild = sub.add_parser("rebuild-figures", help="recount evaluation's figures from its event log")
    _add_backends(rebuild)
    rebuild.set_defaults(func=cmd_rebuild_figures)

    again = sub.add_parser("reannounce-directory", help="announce every staff member, station and calendar day "
                                                        "again (after an upgrade adding a copy)")
    _add_backends(again)
    again.set_defaults(func=cmd_reannounce)

    reencrypt = sub.add_parser("reencrypt-personal-data",
                               help="re-encrypt personal data under the first of CUNBAN_PII_KEYS (key rotation)")
    reencrypt.add_argument("names", nargs="*", help="services (default: all)")
    _add_backends(reencrypt)
    reencrypt.set_defaults(func=cmd_reencrypt)

    dlq = sub.add_parser("dlq", help="list or replay the services' dead letters")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("ids", nargs="*", help="replay only these (with --service)")
    dlq.add_argument("--service", choices=list(SERVICES))
    dlq.add_argument("--all", action="store_true", help="list replayed ones too")
    dlq.add_argument("--amqp-uri")
    dlq.set_defaults(func=cmd_dlq)

    notes = sub.add_parser("notifications", help="list the SMS messages made (the log provider's, say)")
    notes.add_argument("action", choices=["list"])
    notes.add_argument("--township")
    notes.add_argument("--status", choices=["waiting", "sending", "sent", "delivered", "undelivered", "failed",
                                            "withheld"])
    notes.add_argument("--kind")
    notes.add_argument("--limit", type=int, default=50, choices=range(1, 201), metavar="1-200")
    _add_backends(notes)
    notes.set_defaults(func=cmd_notifications)

    wait = sub.add_parser("wait", help="wait for the broker (and a service's database) to accept connections")
    wait.add_argument("--service", choices=list(SERVICES))
    wait.add_argument("--timeout", type=float, default=180)
    _add_backends(wait)
    wait.set_defaults(func=cmd_wait)

    health = sub.add_parser("healthcheck", help="exit 0 when this container's gateway or service answers")
    health.set_defaults(func=cmd_healthcheck)

    matrix = sub.add_parser("access-matrix", help="print the access matrix (roles × actions × scope)")
    matrix.set_defaults(func=cmd_access_matrix)

    args = parser.parse_args(argv)
    from pydantic import ValidationError

    from cunban.datadir import DataDirInUse

    try:
        return args.func(args)
    except DataDirInUse as refused:
        print(f"cunban {args.command}: refused: {refused}", file=sys.stderr)
        return 3
    except ValidationError as refused:  # the configuration (shared/settings.py): say which variable, no traceback
        if refused.title != "Settings":
            raise
        problems = "; ".join(str(e.get("ctx", {}).get("error") or e["msg"]) for e in refused.errors())
        print(f"cunban {args.command}: configuration refused: {problems}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
