"""A PostgreSQL cluster and a Redis server of a test's own (own port, own data folder), the
portal's processes (gunicorn, Celery worker and beat) pointed at them, and the test's ORM on the
same database — so a fault test can stop and restart them without touching the rest of the suite.

PostgreSQL runs as the `postgres` OS user when the tests run as root (initdb refuses root).
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
VENV_BIN = BASE_DIR / ".venv" / "bin"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin():
    """The newest installed PostgreSQL server's bin folder (Debian layout), or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def require_private_services():
    """Skip (or, under CI=true, fail) without the binaries; run in the PostgreSQL pass only."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("fault tests run in the PostgreSQL pass (they start their own PostgreSQL)")
    missing = []
    if postgres_bin() is None:
        missing.append("PostgreSQL server (initdb, pg_ctl)")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing.append("runuser")
    if missing:
        message = f"fault tests need {', '.join(missing)}"
        if IN_CI:
            pytest.fail(message + " in CI")
        pytest.skip(message)


def wait_for(predicate, seconds, interval=0.2):
    limit = time.monotonic() + seconds
    while time.monotonic() < limit:
        if predicate():
            return True
        time.sleep(interval)
    return False


class PrivatePostgres:
    """initdb + pg_ctl in a temporary folder on a free port; trust auth on 127.0.0.1 only."""

    def __init__(self):
        self.bin = postgres_bin()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="pim-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args, check=True, timeout=120):
        argv = [str(a) for a in args]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(  # noqa: S603
            argv, check=check, capture_output=True, text=True, timeout=timeout
        )

    def init(self):
        self._run(
            self.bin / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        return self

    def start(self):
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c max_connections=60 -c shared_buffers=16MB"
        )
        self._run(
            self.bin / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start"
        )

    def stop(self, mode="fast"):
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def is_up(self):
        result = self._run(
            self.bin / "pg_isready", "-h", "127.0.0.1", "-p", self.port, "-q", check=False
        )
        return result.returncode == 0

    def url(self, name):
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def sql(self, statement, dbname="postgres"):
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            conn.execute(statement)

    def destroy(self):
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """redis-server on a free port without persistence: a restart loses every queued message."""

    def __init__(self, root):
        self.port = free_port()
        self.root = Path(root)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(  # noqa: S603
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(self.ping, 20), "private Redis did not start"

    def ping(self):
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.exceptions.ConnectionError:
            return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def url(self, db):
        return f"redis://127.0.0.1:{self.port}/{db}"


class Processes:
    """The portal's own processes, started with one environment; each logs to a file."""

    def __init__(self, env, root):
        self.env = env
        self.root = Path(root)
        self.procs = {}

    def start(self, name, *argv):
        log = open(self.root / f"{name}.log", "w")  # noqa: SIM115 - closed in stop_all
        proc = subprocess.Popen(  # noqa: S603
            [str(a) for a in argv],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = (proc, log)
        return proc

    def web(self, port):
        return self.start(
            "web", VENV_BIN / "gunicorn", "pim.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--timeout", "60",
        )  # fmt: skip

    def worker(self):
        return self.start(
            "worker", VENV_BIN / "celery", "-A", "pim", "worker", "--loglevel=INFO",
            "--concurrency=2", "--without-gossip", "--without-mingle", "--without-heartbeat",
        )  # fmt: skip

    def beat(self):
        return self.start(
            "beat", VENV_BIN / "celery", "-A", "pim", "beat", "--loglevel=INFO",
            "--schedule", self.root / "beat-schedule",
        )  # fmt: skip

    def alive(self, name):
        return self.procs[name][0].poll() is None

    def log(self, name):
        return (self.root / f"{name}.log").read_text(errors="replace")

    def stop_all(self):
        for proc, _log in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for name, (proc, log) in self.procs.items():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            log.close()
            sys.stdout.write(f"--- {name} log ---\n{self.log(name)[-20000:]}\n")


def portal_env(database_url, redis, smtp_port, var_dir):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL")
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            # Production shape: Redis is both the broker and the cache.
            "CELERY_BROKER_URL": redis.url(0),
            "CACHE_URL": f"rediscache://127.0.0.1:{redis.port}/1",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "DEBUG": "false",
            "HTTPS": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECRET_KEY": "fault-test-secret-key-" + "x" * 40,
            "PIM_VAR_DIR": str(var_dir),
            "SLA_SWEEP_SECONDS": "3",
            "NOTIFICATION_RELAY_SECONDS": "3",
            "NOTIFICATION_RELAY_AFTER_SECONDS": "5",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@contextmanager
def orm_on(postgres, dbname, django_db_blocker):
    """Point this process's default database connection at the private cluster."""
    from django.db import connections

    old = connections["default"]
    config = {
        **old.settings_dict,
        "NAME": dbname,
        "HOST": "127.0.0.1",
        "PORT": str(postgres.port),
        "USER": "postgres",
        "PASSWORD": "",
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "OPTIONS": {},
    }
    new = old.__class__(config, alias="default")
    connections["default"] = new
    try:
        with django_db_blocker.unblock():
            yield new
    finally:
        new.close()
        connections["default"] = old


def migrate(postgres, dbname, var_dir):
    env = {key: value for key, value in os.environ.items() if key != "CACHE_URL"}
    env.update({"DATABASE_URL": postgres.url(dbname), "PIM_VAR_DIR": str(var_dir)})
    subprocess.run(  # noqa: S603
        [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
