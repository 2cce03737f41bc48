"""API ticket create against the peer (DESIGN §7: ≥ 3×), with the framework's floor beside it.

    .venv/bin/python bench/peer_ratio.py [--seconds 15] [--clients 8] [--rounds 2]

Runs, in one sitting and alternating so that the machine's drift falls on all of them:
- django-helpdesk 2.6.1 (`../shared/peer/helpdesk_bench.sh`; needs its venv, see the peer's
  README), API ticket create;
- PIM (`../shared/peer/pim_bench.sh` on this checkout), API ticket create as a customer;
- the floor: the least a Django REST framework create can be, served the same way (gunicorn
  -w 2, PostgreSQL, the same `load.py`): token authentication, a ModelSerializer of four
  fields, one INSERT and its COMMIT, no middleware. Whatever a registration writes besides one
  row costs on top of this figure, so floor ÷ peer bounds what any DRF create could reach.
Prints each run, then the medians, the ratios and a target line (`ok` or `MISSED`).
Needs PostgreSQL (databases peer_helpdesk, peer_pim and pim_floor are dropped and made) and
Redis (databases 7 and 8 are flushed by pim_bench.sh).
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT.parent / "shared" / "peer"
RATIO_TARGET = 3

FLOOR_SETTINGS = """
SECRET_KEY = "floor-bench-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
USE_TZ = True
ROOT_URLCONF = "floor_urls"
MIDDLEWARE = []
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework",
                  "rest_framework.authtoken", "floor"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "pim_floor",
                         "USER": "postgres", "HOST": "127.0.0.1", "CONN_MAX_AGE": 600}}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""
FLOOR_MODELS = """
from django.db import models


class Item(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField()
    priority = models.IntegerField()
    created = models.DateTimeField(auto_now_add=True)
"""
FLOOR_URLS = """
from django.urls import path
from rest_framework import generics, serializers

from floor.models import Item


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "title", "description", "priority", "created"]


class Items(generics.CreateAPIView):
    serializer_class = ItemSerializer


urlpatterns = [path("items/", Items.as_view())]
"""
FLOOR_WSGI = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "floor_settings")
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
"""
BODY = json.dumps(
    {
        "title": "Printer {n} offline",
        "description": "Floor 2 printer does not respond",
        "priority": 3,
    }
)


def figures(output: str, label: str) -> dict:
    for line in output.splitlines():
        if line.startswith(label):
            return json.loads(line.split(":", 1)[1])
    raise SystemExit(f"no '{label}' line in:\n{output}")


def run(cmd, **kwargs) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if done.returncode:
        raise SystemExit(f"{cmd[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_floor(where: Path) -> tuple[dict, str]:
    (where / "floor").mkdir()
    (where / "floor" / "__init__.py").write_text("")
    (where / "floor" / "models.py").write_text(FLOOR_MODELS)
    (where / "floor_settings.py").write_text(FLOOR_SETTINGS)
    (where / "floor_urls.py").write_text(FLOOR_URLS)
    (where / "floor_wsgi.py").write_text(FLOOR_WSGI)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "floor_settings", "PYTHONPATH": str(where)}
    run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-qc",
            "DROP DATABASE IF EXISTS pim_floor",
            "-c",
            "CREATE DATABASE pim_floor",
        ]
    )
    django_admin = [sys.executable, "-m", "django"]
    run([*django_admin, "migrate", "--run-syncdb", "-v0"], env=env, cwd=where)
    token = (
        run(
            [
                *django_admin,
                "shell",
                "-v0",
                "-c",
                "from django.contrib.auth.models import User\n"
                "from rest_framework.authtoken.models import Token\n"
                "print(Token.objects.create(user=User.objects.create_user('floor')).key)",
            ],
            env=env,
            cwd=where,
        )
        .strip()
        .splitlines()[-1]
    )
    return env, token


def floor_create(where: Path, env: dict, token: str, seconds: int, clients: int) -> dict:
    port = free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen(
        [
            gunicorn,
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "floor_wsgi:application",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=where,
    )
    try:
        for _ in range(60):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.25)
        out = run(
            [
                sys.executable,
                PEER / "load.py",
                f"http://127.0.0.1:{port}/items/",
                "POST",
                str(seconds),
                str(clients),
                token,
                BODY,
            ]
        )
        return json.loads(out)
    finally:
        server.terminate()
        server.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if min(args.seconds, args.clients, args.rounds) < 1:
        parser.error("--seconds, --clients and --rounds must be at least 1")
    s, c = str(args.seconds), str(args.clients)
    rates = {"helpdesk": [], "pim": [], "floor": []}
    with tempfile.TemporaryDirectory(prefix="pim-floor-") as tmp:
        env, token = build_floor(Path(tmp))
        runs = {
            "helpdesk": lambda: figures(
                run(["bash", PEER / "helpdesk_bench.sh", s, c]), "helpdesk create"
            ),
            "pim": lambda: figures(
                run(["bash", PEER / "pim_bench.sh", str(ROOT), s, c]), "pim create"
            ),
            "floor": lambda: floor_create(Path(tmp), env, token, args.seconds, args.clients),
        }
        for round_ in range(1, args.rounds + 1):
            for name, measure in runs.items():
                result = measure()
                errors = result["requests"] - result["ok"]
                rates[name].append(result["per_s"])
                print(
                    f"round {round_} {name:9} create {result['per_s']:7.1f}/s  "
                    f"p50 {result['p50_ms']:6.1f} ms  p95 {result['p95_ms']:6.1f} ms  "
                    f"errors {errors}",
                    flush=True,
                )
    median = {name: statistics.median(values) for name, values in rates.items()}
    if not all(median.values()):
        raise SystemExit(f"a median rate is 0 (every request failed): {median}")
    pim_ratio = median["pim"] / median["helpdesk"]
    floor_ratio = median["floor"] / median["helpdesk"]
    print(
        f"\nmedians: helpdesk {median['helpdesk']:.1f}/s, PIM {median['pim']:.1f}/s, "
        f"floor {median['floor']:.1f}/s"
    )
    print(
        f"PIM ÷ helpdesk {pim_ratio:.2f}×; floor ÷ helpdesk {floor_ratio:.2f}×; "
        f"PIM ÷ floor {median['pim'] / median['floor']:.2f}"
    )
    ok = pim_ratio >= RATIO_TARGET
    print(
        f"{'ok    ' if ok else 'MISSED'} API create >= {RATIO_TARGET}x the peer: {pim_ratio:.2f}x"
    )


if __name__ == "__main__":
    main()
