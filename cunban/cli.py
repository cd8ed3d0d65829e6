"""The `cunban` command: run the system (all in one process, or one service or the gateway as deployed) and
operate it (migrations, the county's set-up, dead letters, key rotation, recounts)."""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable
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
    from cunban.stopping import stop_watched
    from gateway.app import create_app
    from gateway.audit_spool import AuditSpool
    from gateway.rpc import ServiceCalls
    from shared.logs import configure_logging
    from shared.rpc_client import RpcClient

    settings = _settings(args)
    configure_logging(settings.log_level)
    lock = _hold_data_dir(settings, always=True)  # before anything is written: one `cunban up` per data dir
    settings = with_local_secrets(settings)
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
        calls = ServiceCalls(client, AuditSpool(settings.audit_spool_file()))
        embedded.serve_gateway_green(create_app(settings, calls), settings.http_host,
                                     settings.http_port)
    finally:
        client.close()
        stop_watched(runner.stop, "the services")
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
    from cunban.stopping import on_stop_signal, stop_watched
    from shared.logs import configure_logging

    settings = _settings(args)
    configure_logging(settings.log_level)
    if not args.no_migrate:
        embedded.migrate_all(settings, [args.name])
    start_http_server(settings.metrics_port)
    runner = embedded.start_services(settings, [args.name])
    freeze_startup_objects()
    stopped = eventlet.Event()

    def stop(signal_name: str) -> None:
        logging.getLogger("cunban").info("%s: stopping the %s service", signal_name, args.name)
        if not stopped.ready():
            stopped.send(0)

    on_stop_signal(stop)

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
            stop_watched(runner.stop, f"the {args.name} service")
    return code


def cmd_gateway(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.app import create_app
    from gateway.audit_spool import AuditSpool
    from gateway.rpc import ServiceCalls
    from gateway.serving import Server
    from shared.logs import configure_logging
    from shared.rpc_client import RpcClient
    from shared.settings import DEVELOPMENT_SECRET

    settings = _settings(args)
    if settings.secret_key == DEVELOPMENT_SECRET and settings.http_host not in ("127.0.0.1", "localhost", "::1"):
        say("gateway", "refused: without CUNBAN_SECRET_KEY it signs with the published development secret, "
            f"which anyone can forge a token with: it listens on 127.0.0.1 only, not {settings.http_host}")
        return 2
    configure_logging(settings.log_level)
    client = RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout_seconds, pool_size=settings.rpc_pool_size)
    app = create_app(settings, ServiceCalls(client, AuditSpool(settings.audit_spool_file())))
    freeze_startup_objects()
    # X-Forwarded-For is read by the gateway itself, from CUNBAN_TRUSTED_PROXIES only (gateway/audit.py)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: uvicorn stopped gracefully, then raises it again
        Server(uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_config=None,
                              access_log=False, proxy_headers=False)).run()
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


def cmd_declare_queues(args: argparse.Namespace) -> int:
    from cunban.queues import declare_queues
    from cunban.registry import SERVICES

    for name in declare_queues(_settings(args), args.names or list(SERVICES)):
        print(name)
    return 0


class Unreachable(Exception):
    """What a command needs and cannot reach, said in one line (exit 1, no traceback)."""


def _client(settings: Any, *, serving: list[str] | tuple[str, ...] = ()) -> Any:
    """A client of the running services' broker, once it answers; with `serving`, once each of those services
    listens on it. Refuses at once (Unreachable) rather than let a call wait for its timeout."""
    from shared.rpc_client import RpcClient

    if settings.amqp_uri.startswith("memory://"):
        raise Unreachable("no broker to reach: memory:// is the broker inside one `cunban up` process, which no other "
                          "process can reach; give the services' broker with --amqp-uri or CUNBAN_AMQP_URI")
    _require_serving(settings.amqp_uri, serving)
    return RpcClient(settings.amqp_uri, timeout=max(settings.rpc_timeout_seconds, 60), pool_size=1)


def _require_serving(amqp_uri: str, services: list[str] | tuple[str, ...]) -> None:
    """Connect with a short timeout, and look (passively) for a consumer on each service's RPC queue."""
    from amqp.exceptions import NotFound
    from kombu import Connection

    from shared.broker import CONNECTION_ERRORS

    connection = Connection(amqp_uri, connect_timeout=3)
    where = connection.as_uri()  # without the password
    try:
        try:
            connection.ensure_connection(max_retries=1, interval_start=0)
        except CONNECTION_ERRORS as exc:
            raise Unreachable(f"cannot reach the broker at {where} ({exc}): start it, or correct --amqp-uri or "
                              "CUNBAN_AMQP_URI") from None
        for name in services:
            with connection.channel() as channel:
                try:
                    consumers = channel.queue_declare(queue=f"rpc-{name}", passive=True).consumer_count
                except NotFound:
                    consumers = 0
            if not consumers:
                raise Unreachable(f"the {name} service is not running on the broker at {where}: start it "
                                  f"(cunban run-service {name}), or give the broker it uses")
    finally:
        connection.release()


def cmd_bootstrap(args: argparse.Namespace) -> int:
    from shared.contracts.caller import Caller
    from shared.settings import is_placeholder

    settings = _settings(args)
    admin_password = os.environ.get("CUNBAN_ADMIN_PASSWORD")
    if admin_password and settings.environment == "production" and is_placeholder(admin_password):
        print("cunban bootstrap: configuration refused: CUNBAN_ADMIN_PASSWORD is still .env.example's placeholder; "
              "set the first admin's password in .env", file=sys.stderr)
        return 2
    client = _client(settings, serving=["directory"])
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

    loaded = load_demo(_client(_settings(args), serving=["directory"]))
    print("demo county loaded" if loaded else "demo county already present")
    return 0


def _reannounce_directory(settings: Any) -> dict[str, int]:
    from services.directory.adapters.orm import Base
    from services.directory.service_layer.reannouncing import reannounce_directory
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
    from services.evaluation.service_layer.counting import rebuild
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

    names = [args.service] if args.service else list(SERVICES)
    settings = _settings(args)
    if settings.amqp_uri.startswith("memory://"):
        raise Unreachable("the embedded system's dead letters are inside its `cunban up` process: see them on the page "
                          "/console/admin/health or with GET /dead-letters (as a county admin); for services on a "
                          "broker, give it with --amqp-uri or CUNBAN_AMQP_URI")
    client = _client(settings, serving=names)
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


# ---- backups, restore and reconciliation (cunban/backup.py, cunban/reconcile.py) ------------------------------
def _service_urls(args: argparse.Namespace) -> dict[str, str]:
    from cunban.registry import SERVICES

    settings = _settings(args)
    return {name: settings.database_url(name) for name in (getattr(args, "names", None) or SERVICES)}


def _backup_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", dest="store", help="a directory or s3://bucket/prefix (env CUNBAN_BACKUP_TARGET)")
    parser.add_argument("--db-url", help="database URL template with {service} (env CUNBAN_DB_URL)")


def cmd_backup(args: argparse.Namespace) -> int:
    """One backup set of the services' PostgreSQL server; with --every-hours, compose's backup service."""
    from datetime import timedelta

    from cunban import backup
    from shared.logs import configure_logging

    settings = _settings(args)
    target = args.store or settings.backup_target
    if not target:
        say("backup", "say where: --to or CUNBAN_BACKUP_TARGET")
        return 2
    urls = _service_urls(args)
    keep = {"keep_days": settings.backup_keep_days, "keep_last": settings.backup_keep_last}
    try:
        store = backup.open_store(target, settings)
        if args.every_hours or args.serve:
            configure_logging(settings.log_level)
            backup.serve(urls, store, every=timedelta(hours=args.every_hours or settings.backup_every_hours),
                         metrics_port=settings.metrics_port, **keep)
        made = backup.run_once(urls, store, **keep)
    except backup.BackupError as failed:
        say("backup", f"{failed}")
        return 1
    print(backup.manifest_text(made), end="")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Lay a backup set (the latest, or --set NAME) out as PostgreSQL's data directory; --list shows the sets."""
    from cunban import backup

    settings = _settings(args)
    source = args.store or settings.backup_target
    if not source:
        say("restore", "say where from: --from or CUNBAN_BACKUP_TARGET")
        return 2
    try:
        store = backup.open_store(source, settings)
        if args.list:
            for made in backup.backup_sets(store):
                print(backup.manifest_text(made), end="")
            return 0
        if not args.pgdata:
            say("restore", "say where to: --pgdata (the stopped server's data directory)")
            return 2
        restored = backup.restore(store, args.pgdata, args.set)
    except backup.BackupError as failed:
        say("restore", f"{failed}")
        return 1
    print(f"{args.pgdata} holds {restored.name}: start PostgreSQL on it, purge the services' event queues, start "
          "the services, then run `cunban reconcile`")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    """After a restore: republish what consumers lack, report what producers lost, recount evaluation."""
    from datetime import datetime

    from cunban.reconcile import reconcile

    since = datetime.fromisoformat(args.since) if args.since else None
    if since is not None and since.tzinfo is None:
        say("reconcile", "--since needs a time zone, e.g. 2026-12-04T08:00:00+08:00")
        return 2
    done = reconcile(_service_urls(args), since=since, wait_seconds=args.wait, rebuild_figures=not args.no_rebuild)
    found = done.found
    print(f"checked {found.checked} outbox rows; {found.missing_count} events some consumer lacked, "
          f"{done.republished} set to be published again, {done.still_missing} still missing")
    for handler, ids in sorted(found.orphans.items()):
        print(f"  {handler}: {len(ids)} events applied that their producer no longer has (restored from an "
              f"older backup), e.g. {', '.join(ids[:3])}")
    if done.rebuilt_events is not None:
        print(f"evaluation's figures counted again from {done.rebuilt_events} logged events")
    return 1 if done.still_missing else 0


def _add_backup_commands(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    back = command("backup", "back up every service's PostgreSQL database (once, or on a schedule)")
    _backup_options(back)
    back.add_argument("--serve", action="store_true", help="keep running: a set now and every "
                                                             "CUNBAN_BACKUP_EVERY_HOURS, metrics on the metrics port")
    back.add_argument("--every-hours", type=float, help="--serve, every N hours")
    back.set_defaults(func=cmd_backup)

    rest = command("restore", "lay a backup set out as the PostgreSQL server's data directory")
    rest.add_argument("--from", dest="store", help="a directory or s3://bucket/prefix (env CUNBAN_BACKUP_TARGET)")
    rest.add_argument("--pgdata", type=Path, help="the stopped server's data directory, empty or absent")
    rest.add_argument("--set", default="latest", help="the set's name (default: the latest finished one)")
    rest.add_argument("--list", action="store_true", help="list the finished sets")
    rest.set_defaults(func=cmd_restore)

    rec = command("reconcile", "after a restore: events consumers lack published again, figures recounted")
    rec.add_argument("--db-url", help="database URL template with {service} (env CUNBAN_DB_URL)")
    rec.add_argument("--since", help="only outbox rows from this time on (ISO 8601 with zone)")
    rec.add_argument("--wait", type=float, default=120, help="seconds to wait for the services to apply them")
    rec.add_argument("--no-rebuild", action="store_true", help="do not recount evaluation's figures")
    rec.set_defaults(func=cmd_reconcile)


def _add_backends(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--amqp-uri", help="broker URL (default memory://, env CUNBAN_AMQP_URI)")
    parser.add_argument("--db-url", help="database URL template with {service} (env CUNBAN_DB_URL)")
    parser.add_argument("--data-dir", type=Path, help="folder for SQLite files (env CUNBAN_DATA_DIR)")


def _add_broker(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--amqp-uri", help="broker URL of the running services (env CUNBAN_AMQP_URI)")


def _add_listen(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address the gateway listens on (env CUNBAN_HTTP_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port the gateway listens on (env CUNBAN_HTTP_PORT, default 8080)")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every command with a line of help, every option with its own."""
    from cunban.registry import SERVICES

    parser = argparse.ArgumentParser(prog="cunban", description=__doc__,
                                     epilog="`cunban COMMAND --help` tells a command's options; every setting is "
                                            "also an environment variable CUNBAN_* (README.md, Configuration).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=summary)

    up = command("up", "run the whole system in one process (embedded: SQLite + in-process broker)")
    _add_backends(up)
    _add_listen(up)
    up.add_argument("--no-demo", action="store_true", help="do not load the demo county")
    up.set_defaults(func=cmd_up)

    run = command("run-service", "run one service, as a deployment does")
    run.add_argument("name", choices=list(SERVICES), metavar="NAME", help=f"the service: {', '.join(SERVICES)}")
    run.add_argument("--no-migrate", action="store_true", help="do not apply its migrations first")
    _add_backends(run)
    run.set_defaults(func=cmd_run_service)

    gw = command("gateway", "run the HTTP gateway alone, calling services over the broker")
    _add_broker(gw)
    _add_listen(gw)
    gw.set_defaults(func=cmd_gateway)

    mig = command("migrate", "apply each service's database migrations")
    mig.add_argument("names", nargs="*", metavar="NAME", help="services (default: all)")
    _add_backends(mig)
    mig.set_defaults(func=cmd_migrate)

    queues = command("declare-queues", "declare every queue the services consume, as quorum queues, before "
                                       "they start (moving an installation off classic queues)")
    queues.add_argument("names", nargs="*", metavar="NAME", help="services (default: all)")
    _add_broker(queues)
    queues.set_defaults(func=cmd_declare_queues)

    boot = command("bootstrap", "create the first county, its official calendar and the system administrator")
    boot.add_argument("--code", default=os.environ.get("CUNBAN_COUNTY_CODE", "431099"),
                      help="county code (env CUNBAN_COUNTY_CODE, default 431099)")
    boot.add_argument("--name", default=os.environ.get("CUNBAN_COUNTY_NAME", "清水县"),
                      help="county name (env CUNBAN_COUNTY_NAME, default 清水县)")
    _add_broker(boot)
    boot.set_defaults(func=cmd_bootstrap)

    demo = command("seed-demo", "load the demo county through the running services")
    _add_broker(demo)
    demo.set_defaults(func=cmd_seed_demo)

    rebuild = command("rebuild-figures", "recount evaluation's figures from its event log")
    _add_backends(rebuild)
    rebuild.set_defaults(func=cmd_rebuild_figures)

    again = command("reannounce-directory", "announce every staff member, station and calendar day "
                                                        "again (after an upgrade adding a copy)")
    _add_backends(again)
    again.set_defaults(func=cmd_reannounce)

    reencrypt = command("reencrypt-personal-data",
                        "re-encrypt personal data under the first of CUNBAN_PII_KEYS (key rotation)")
    reencrypt.add_argument("names", nargs="*", metavar="NAME", help="services (default: all)")
    _add_backends(reencrypt)
    reencrypt.set_defaults(func=cmd_reencrypt)

    dlq = command("dlq", "list or replay the running services' dead letters")
    dlq.add_argument("action", choices=["list", "replay"], help="list them (one JSON line each) or replay them")
    dlq.add_argument("ids", nargs="*", metavar="ID", help="replay only these (with --service)")
    dlq.add_argument("--service", choices=list(SERVICES), help="one service only (default: every service)")
    dlq.add_argument("--all", action="store_true", help="list replayed ones too")
    _add_broker(dlq)
    dlq.set_defaults(func=cmd_dlq)

    notes = command("notifications", "list the SMS messages made, newest first (the log provider's)")
    notes.add_argument("action", choices=["list"], help="list them, one line each")
    notes.add_argument("--township", help="one township's only (its code)")
    notes.add_argument("--status", choices=["waiting", "sending", "sent", "delivered", "undelivered", "failed",
                                            "withheld"], help="only messages in this state")
    notes.add_argument("--kind", help="only this notice, e.g. application_received")
    notes.add_argument("--limit", type=int, default=50, choices=range(1, 201), metavar="1-200",
                       help="at most this many (default 50)")
    _add_backends(notes)
    notes.set_defaults(func=cmd_notifications)

    wait = command("wait", "wait for the broker (and a service's database) to accept connections")
    wait.add_argument("--service", choices=list(SERVICES), help="also wait for this service's database")
    wait.add_argument("--timeout", type=float, default=180, help="give up after this many seconds (default 180)")
    _add_backends(wait)
    wait.set_defaults(func=cmd_wait)

    health = command("healthcheck", "exit 0 when this container's gateway or service answers")
    health.set_defaults(func=cmd_healthcheck)

    matrix = command("access-matrix", "print the access matrix (roles × actions × scope)")
    matrix.set_defaults(func=cmd_access_matrix)
    _add_backup_commands(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from shared.logs import configure_logging

    # JSON from the first line on (a command's own may set CUNBAN_LOG_LEVEL's level again from its settings);
    # nothing here imports pydantic or nameko: `up` and `run-service` choose eventlet's hub and patch first
    level = os.environ.get("CUNBAN_LOG_LEVEL", "INFO").upper()
    configure_logging(level if level in logging.getLevelNamesMapping() else "INFO")
    try:
        return args.func(args)
    except Exception as exc:
        refused = _refusal(args.command, exc)
        if refused is None:
            raise
        return refused


def _refusal(command: str, exc: Exception) -> int | None:
    """What a command could not do or reach, said in one line on stderr; the exit code, or None for an error
    nobody expected (logged with its traceback as JSON)."""
    from pydantic import ValidationError
    from sqlalchemy.exc import OperationalError as DatabaseUnreachable

    from cunban.datadir import DataDirInUse
    from shared.errors import ServiceUnavailable

    if isinstance(exc, DataDirInUse):
        say(command, f"refused: {exc}")
        return 3
    if isinstance(exc, Unreachable):
        say(command, str(exc))
        return 1
    if isinstance(exc, ServiceUnavailable):  # lost on the way (the broker went, a service did not answer)
        say(command, exc.message)
        return 1
    if isinstance(exc, DatabaseUnreachable):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        say(command, f"cannot reach the database ({reason}): start it, or correct --db-url or CUNBAN_DB_URL")
        return 1
    if isinstance(exc, ValidationError) and exc.title == "Settings":  # the configuration: say which variable
        problems = "; ".join(str(e.get("ctx", {}).get("error") or e["msg"]) for e in exc.errors())
        say(command, f"configuration refused: {problems}")
        return 2
    return None


SERVING = ("up", "run-service", "gateway")  # the commands that run as a system's processes, whose lines are logs


def say(command: str, text: str) -> None:
    """One line on stderr about what a command could not do: a JSON log record from a process of the system
    (its log is collected and searched), plain words from an operator's command."""
    if command in SERVING:
        logging.getLogger("cunban").error("cunban %s: %s", command, text)
    else:
        print(f"cunban {command}: {text}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
