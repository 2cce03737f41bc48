"""The production set-up works as written: the README's recipe, run as it stands, serves the
login page with its CSS under gunicorn; `check --deploy` is clean after it; the Dockerfile and
docker-compose.yml run the same commands in the same order.

The recipe runs once per module in a temporary PIM_VAR_DIR: SQLite there instead of the
README's PostgreSQL, the filesystem broker instead of Redis (the recipe's `export
DATABASE_URL` / `CELERY_BROKER_URL` lines are the only ones left out, with the venv line: this
checkout's .venv is the one the recipe would create), on a free port instead of 8000, and with
5 demo tickets per organisation instead of 60 (tests/test_seed_demo.py covers the demo data).
"""

import http.client
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
README = BASE_DIR / "README.md"
PROGRAMS = {"python", "pip", "gunicorn", "celery"}
# Settings the recipe sets itself or that must not leak in from the test run's environment.
CLEARED = (
    "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "DEBUG", "DEMO_MODE",
    "HTTPS", "SECRET_KEY", "ALLOWED_HOSTS", "PIM_VAR_DIR",
)  # fmt: skip


def readme_recipe():
    text = README.read_text(encoding="utf-8")
    after = text.split("<!-- production-recipe -->", 1)[1]
    block = after.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def _commands(line):
    """Shell words of one line, split into commands at `&&` and `&` (comments dropped)."""
    command = []
    for word in shlex.split(line, comments=True):
        if word in ("&&", "&", ";"):
            if command:
                yield command
            command = []
        else:
            command.append(word)
    if command:
        yield command


def _identity(words):
    """`VAR=x .venv/bin/python manage.py migrate --noinput` → ('python', 'manage.py', 'migrate')."""
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        words = words[1:]
    if not words:
        return None
    program = words[0].removeprefix(".venv/bin/")
    if program not in PROGRAMS:
        return None
    head = [program]
    for word in words[1:]:
        if word.startswith("--"):
            break
        head.append(word)
    return tuple(head)


def _sequence(lines):
    return [
        identity
        for line in lines
        for words in _commands(line)
        if (identity := _identity(words)) is not None
    ]


def _dockerfile():
    """RUN commands in order, and the CMD."""
    text = (BASE_DIR / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    runs = [line[4:] for line in text.splitlines() if line.startswith("RUN ")]
    cmd = next(json.loads(line[4:]) for line in text.splitlines() if line.startswith("CMD "))
    return runs, cmd


def _compose_commands():
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text(encoding="utf-8"))
    lines = []
    for service in ("migrate", "web", "worker", "beat"):
        command = compose["services"][service]["command"]
        words = shlex.split(command)
        lines.append(words[2] if words[:2] == ["sh", "-c"] else command)
    return lines


def test_readme_dockerfile_and_compose_run_the_same_commands_in_the_same_order():
    readme = _sequence(readme_recipe())
    runs, cmd = _dockerfile()
    docker = _sequence(runs) + _sequence(_compose_commands())
    assert readme == docker
    assert readme == [
        ("pip", "install", "."),
        ("python", "bin/compilemessages.py"),
        ("python", "manage.py", "collectstatic"),
        ("python", "manage.py", "migrate"),
        ("python", "manage.py", "seed_demo"),
        ("gunicorn", "pim.wsgi"),
        ("celery", "-A", "pim", "worker"),
        ("celery", "-A", "pim", "beat"),
    ]
    # The image's own CMD (without compose) starts the same web server.
    assert _identity(cmd) == ("gunicorn", "pim.wsgi")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _base_env(var_dir):
    env = {key: value for key, value in os.environ.items() if key not in CLEARED}
    env["PIM_VAR_DIR"] = str(var_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _get(port, path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _wait_until_serving(port, proc, log, seconds=240):
    limit = time.monotonic() + seconds
    while time.monotonic() < limit:
        if proc.poll() is not None:
            pytest.fail(f"the recipe stopped (exit {proc.returncode}):\n{log.read_text()[-4000:]}")
        try:
            status, _headers, _body = _get(port, "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"nothing served on port {port}:\n{log.read_text()[-4000:]}")


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(proc):
    """Stop the process and its whole group: the recipe's shell exits at once on SIGTERM while
    the worker it started in the background may still be shutting down (seen: workers left
    running after the suite, taking tasks from later tests' broker)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _group_alive(proc.pid):
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    """The README's production recipe, running (gunicorn, worker, beat) until the module ends."""
    tmp = tmp_path_factory.mktemp("production")
    port = _free_port()
    kept = [
        line.replace("127.0.0.1:8000", f"127.0.0.1:{port}").replace(
            "manage.py seed_demo", "manage.py seed_demo --tickets 5"
        )
        for line in readme_recipe()
        if not line.startswith(("export DATABASE_URL=", "export CELERY_BROKER_URL="))
        and "-m venv" not in line
    ]
    script = tmp / "recipe.sh"
    script.write_text("set -e\n" + "\n".join(kept) + "\n", encoding="utf-8")
    log = tmp / "recipe.log"
    with log.open("w") as out:
        proc = subprocess.Popen(  # noqa: S603
            ["bash", str(script)],  # noqa: S607
            cwd=BASE_DIR,
            env=_base_env(tmp / "var"),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_serving(port, proc, log)
        yield {"port": port, "var": tmp / "var", "script": script}
    finally:
        _stop(proc)
        sys.stdout.write(f"--- recipe log ---\n{log.read_text()[-3000:]}\n")


def _stylesheets(html):
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)


def test_recipe_serves_the_login_page_with_its_css(recipe):
    port = recipe["port"]
    status, headers, body = _get(port, "/accounts/login/")
    assert status == 200, body[:2000]
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Content-Security-Policy" in headers
    html = body.decode()
    sheets = _stylesheets(html)
    # Hashed names from collectstatic's manifest (far-future cacheable), Pico first.
    assert re.fullmatch(r"/static/vendor/pico-2\.1\.1/pico\.min\.[0-9a-f]{12}\.css", sheets[0])
    assert any(re.fullmatch(r"/static/css/pim\.[0-9a-f]{12}\.css", s) for s in sheets)
    for url in sheets:
        status, headers, css = _get(port, url, {"Accept-Encoding": "gzip"})
        assert status == 200, url
        assert headers["Content-Type"].startswith("text/css"), url
        assert "immutable" in headers["Cache-Control"] and len(css) > 100
    for url in re.findall(r'<script src="([^"]+)"', html):
        status, headers, _js = _get(port, url)
        assert status == 200 and "javascript" in headers["Content-Type"], url
    # Swagger UI's files come from the sidecar package through the same storage.
    status, _headers, body = _get(port, "/api/docs/")
    assert status == 200
    for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', body.decode()):
        assert _get(port, url)[0] == 200, url


def test_recipe_behind_a_tls_proxy(recipe):
    """The same release with HTTPS at its default (on): plain requests are redirected, requests
    the proxy marks with X-Forwarded-Proto: https are served with HSTS and secure cookies."""
    port = _free_port()
    env = _base_env(recipe["var"])
    env.update(
        {"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "127.0.0.1"}
    )
    log = recipe["var"] / "gunicorn-https.log"
    with log.open("w") as out:
        proc = subprocess.Popen(  # noqa: S603
            [str(BASE_DIR / ".venv/bin/gunicorn"), "pim.wsgi", "--bind", f"127.0.0.1:{port}"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_serving(port, proc, log, seconds=60)  # /healthz is exempt from the redirect
        status, headers, _body = _get(port, "/accounts/login/")
        assert status == 301 and headers["Location"].startswith("https://")
        proxied = {"X-Forwarded-Proto": "https"}
        status, headers, body = _get(port, "/accounts/login/", proxied)
        assert status == 200
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert "__Host-pim-csrf=" in headers["Set-Cookie"] and "Secure" in headers["Set-Cookie"]
        for url in _stylesheets(body.decode()):
            status, headers, _css = _get(port, url, proxied)
            assert status == 200 and headers["Content-Type"].startswith("text/css"), url
    finally:
        _stop(proc)


def _check_deploy(var_dir, **overrides):
    env = _base_env(var_dir)
    env.update(
        {
            "DEBUG": "false",
            "HTTPS": "true",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "pim.example.com",
            "EMAIL_URL": "smtp://relay.example.com:587/?tls=True",
            **overrides,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_environment(recipe):
    result = _check_deploy(recipe["var"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"DEBUG": "true", "HTTPS": "false", "SECRET_KEY": "short"}, "security.W018"),
        ({"EMAIL_URL": "consolemail://"}, "mail.E001"),  # production must name a mail relay
    ],
)
def test_check_deploy_catches_an_insecure_setup(recipe, overrides, expected):
    """The control for the test above: the same check does fail on development settings."""
    result = _check_deploy(recipe["var"], **overrides)
    assert result.returncode != 0
    assert expected in result.stderr + result.stdout


def test_check_deploy_catches_a_release_without_collectstatic(tmp_path):
    result = _check_deploy(tmp_path / "var")
    assert result.returncode != 0
    assert "pim.E001" in result.stderr and "collectstatic" in result.stderr
