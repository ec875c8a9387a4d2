"""Fuzzes the whole API described by static-site/openapi.yaml against the local stack.

The stack is the README's `make dev` script on free ports (DynamoDB Local, s3rver, the functions
under `cargo lambda watch`), with a fresh data folder. Gates: at least 1000 generated requests across
all operations, no 5xx, and every response documented and matching its schema and the error format.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = ROOT / ".cache/venv-fuzz/bin/schemathesis"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
MIN_REQUESTS = 1000


@pytest.fixture(scope="module")
def stack():
    # Ports of 0: free ones, chosen by the script after its build (one chosen before could be taken
    # by another program meanwhile), named in its ports.env.
    ports = {name: "0" for name in ("API_PORT", "DYNAMODB_PORT", "S3_PORT", "SITE_PORT", "STRIPE_PORT", "MOTO_PORT")}
    data = tempfile.mkdtemp(prefix="shop-fuzz-")
    env = {**os.environ, **ports, "LOCAL_DIR": data, "LOG_LEVEL": "warn", "WATCH_ARGS": "--ignore-changes",
           "ADMIN_TOTP_SECRET": ADMIN_TOTP_SECRET}
    log = open(Path(data) / "stack.log", "w+")
    proc = subprocess.Popen(["bash", "scripts/dev.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 600
        while "The shop is running" not in Path(log.name).read_text():
            assert proc.poll() is None, Path(log.name).read_text()
            assert time.time() < deadline, "the stack did not start"
            time.sleep(0.5)
        chosen = dict(line.split("=") for line in (Path(data) / "ports.env").read_text().split())
        yield f"http://127.0.0.1:{chosen['API_PORT']}", data
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


# The seeded admin's authenticator secret: this run's own (admins sign in with a code).
ADMIN_TOTP_SECRET = base64.b32encode(os.urandom(20)).decode()
_last_step = [0]


def totp(secret, step):
    """RFC 6238: HMAC-SHA1 over the 30-second step, 6 digits."""
    mac = hmac.new(base64.b32decode(secret), step.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[19] & 0xF
    return f"{(int.from_bytes(mac[offset:offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


def unused_code():
    """A code no earlier call gave (each is accepted once, those of the steps either side of now)."""
    while True:
        now = int(time.time())
        current = now // 30
        # The step behind now only while 10 s of its window are left (the request lands in it).
        first = current - 1 if now % 30 < 20 else current
        step = max(first, _last_step[0] + 1)
        if step <= current + 1:
            _last_step[0] = step
            return totp(ADMIN_TOTP_SECRET, step)
        time.sleep(30 - now % 30)


def post(api, path, body):
    req = urllib.request.Request(f"{api}{path}", data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def login(api):
    step = post(api, "/users/login", {"email": "admin@shop.local", "password": "admin-password"})
    return post(api, "/users/login/mfa", {"mfa_token": step["mfa_token"], "code": unused_code()})["token"]


def fuzz(api, workdir, *args):
    """Runs schemathesis (from a scratch folder: hypothesis writes files) and returns the report."""
    report = Path(workdir) / f"report-{time.time_ns()}.json"
    cmd = [str(SCHEMATHESIS), "run", str(ROOT / "static-site/openapi.yaml"), "--url", api, "--checks", CHECKS,
           "--generation-database", "none", "--report", "json", "--report-json-path", str(report), "--seed", "20261122", *args]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "hooks", "PYTHONPATH": str(Path(__file__).parent)}
    p = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=1200)
    print(p.stdout[-6000:])
    return p, json.loads(report.read_text()) if report.exists() else None


def generated(output):
    m = re.search(r"(\d+) generated", output)
    return int(m.group(1)) if m else 0


def test_fuzzing_finds_no_5xx_and_no_undocumented_response(stack):
    api, data = stack
    # Both tokens first: fuzzed password changes with a wrong current_password lock the account.
    main_token, logout_token = login(api), login(api)
    # Every operation but logout, with an admin token (admins may call every route).
    p, _ = fuzz(api, data, "-H", f"Authorization: Bearer {main_token}", "--exclude-path", "/users/logout", "--max-examples", "40")
    assert p.returncode == 0, "schemathesis reported failures (see the output above)"
    # Logout revokes the token it is called with, so it gets a token of its own.
    q, _ = fuzz(api, data, "-H", f"Authorization: Bearer {logout_token}", "--include-path", "/users/logout", "--max-examples", "20")
    assert q.returncode == 0, "schemathesis reported failures on logout"
    total = generated(p.stdout) + generated(q.stdout)
    print(f"fuzzed requests: {total}")
    assert total >= MIN_REQUESTS, f"only {total} requests were generated"
