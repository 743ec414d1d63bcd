"""A throwaway local Synapse homeserver, on 127.0.0.1 with SQLite, for the tests and the bench.

Shipped code (not under ``tests/``) because ``community-memory bench`` starts one to measure an
idle ``run`` with the Matrix adapter really syncing a room. ``matrix-synapse`` is in the test
extras only: :func:`synapse_available` says whether this interpreter has it.

Written as DESIGN.md ("Test infrastructure → Matrix") says: only the ``client`` resource, a
``registration_shared_secret`` (users are registered through the admin shared-secret API),
``bcrypt_rounds: 4``, no key servers, no stats, ``filter_timeline_limit: 10000`` and every
``rc_*`` rate limit effectively off (``per_second: 0`` would mean *always* limited). It starts in
about a second. Never point a real community at it: the secret below is public.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVER_NAME = "test.local"
SECRET = "community-memory-tests"
START_TIMEOUT = 60.0
_UNLIMITED = {"per_second": 100000, "burst_count": 100000}
# Every rate limit Synapse knows (synapse/config/ratelimiting.py), nested as it reads them.
RATE_LIMITS: dict[str, Any] = {
    "rc_message": _UNLIMITED,
    "rc_registration": _UNLIMITED,
    "rc_registration_token_validity": _UNLIMITED,
    "rc_login": {"address": _UNLIMITED, "account": _UNLIMITED, "failed_attempts": _UNLIMITED},
    "rc_admin_redaction": _UNLIMITED,
    "rc_joins": {"local": _UNLIMITED, "remote": _UNLIMITED},
    "rc_joins_per_room": _UNLIMITED,
    "rc_key_requests": _UNLIMITED,
    "rc_3pid_validation": _UNLIMITED,
    "rc_invites": {"per_room": _UNLIMITED, "per_user": _UNLIMITED, "per_issuer": _UNLIMITED},
    "rc_third_party_invite": _UNLIMITED,
    "rc_media_create": _UNLIMITED,
    "rc_presence": {"per_user": _UNLIMITED},
    "rc_delayed_event_mgmt": _UNLIMITED,
    "rc_room_creation": _UNLIMITED,
    "rc_reports": _UNLIMITED,
    "rc_user_directory": _UNLIMITED,
    "rc_profile": _UNLIMITED,
}


@dataclass(frozen=True, slots=True)
class Account:
    """A registered user: its id, password and an access token."""

    user_id: str
    password: str
    access_token: str
    device_id: str


def synapse_available() -> bool:
    """Whether ``matrix-synapse`` is installed in this interpreter (it runs in a process of its
    own: finding it is enough, and importing it here would cost half a second and 500 modules)."""
    return importlib.util.find_spec("synapse") is not None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Synapse:
    """One homeserver process: ``start()``, ``register(...)``, ``stop()``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = directory / "homeserver.yaml"
        self.process: subprocess.Popen[bytes] | None = None
        self._log = directory / "synapse.out"

    def write_config(self) -> None:
        """homeserver.yaml and its log config (JSON is YAML, and needs no yaml library)."""
        log_config = self.directory / "log.yaml"
        log_config.write_text(
            json.dumps(
                {
                    "version": 1,
                    "formatters": {"plain": {"format": "%(asctime)s %(name)s %(message)s"}},
                    "handlers": {
                        "console": {"class": "logging.StreamHandler", "formatter": "plain"}
                    },
                    "root": {"level": "WARNING", "handlers": ["console"]},
                    "disable_existing_loggers": False,
                }
            )
        )
        config = {
            "server_name": SERVER_NAME,
            "pid_file": str(self.directory / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3",
                "args": {"database": str(self.directory / "homeserver.db")},
            },
            "log_config": str(log_config),
            "media_store_path": str(self.directory / "media"),
            "signing_key_path": str(self.directory / "signing.key"),
            "registration_shared_secret": SECRET,
            "enable_registration": False,
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "bcrypt_rounds": 4,
            "filter_timeline_limit": 10000,
            "presence": {"enabled": False},
            **RATE_LIMITS,
        }
        self.config_path.write_text(json.dumps(config, indent=2))

    def start(self) -> None:
        """Write the config, generate the signing key, start, and wait until it answers."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.write_config()
        command = [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)]
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        subprocess.run(
            [*command, "--generate-keys"],
            check=True,
            cwd=self.directory,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with self._log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=self.directory, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"synapse exited at start-up:\n{self._log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"synapse did not answer within {START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        """Terminate the homeserver (kill it if it does not stop in ten seconds)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Synapse:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, token: str = ""
    ) -> Any:
        """One client-server API call (``path`` from ``/_matrix/...`` or ``/_synapse/...``),
        as ``token``'s user when given; the JSON answer. HTTP errors raise
        ``urllib.error.HTTPError``."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=20) as response:
            return json.loads(response.read())

    def register(self, localpart: str, password: str = "secret-password") -> Account:
        """Register a user through the shared-secret admin API (HMAC-SHA1 over
        ``nonce\\0user\\0password\\0notadmin``)."""
        path = "/_synapse/admin/v1/register"
        nonce = self.request("GET", path)["nonce"]
        mac = hmac.new(SECRET.encode(), digestmod=hashlib.sha1)
        mac.update(f"{nonce}\0{localpart}\0{password}\0notadmin".encode())
        answer = self.request(
            "POST",
            path,
            {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": False,
                "mac": mac.hexdigest(),
            },
        )
        return Account(
            answer["user_id"], password, answer["access_token"], answer.get("device_id", "")
        )
