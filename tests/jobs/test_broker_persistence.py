"""The production broker keeps queued work across a restart (docker-compose.yml's Redis)."""

from __future__ import annotations

import shlex
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import redis
import yaml

from tests.conftest import ROOT, service_missing, wait_for

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _redis_arguments() -> list[str]:
    command = COMPOSE["services"]["redis"]["command"]
    words = shlex.split(command) if isinstance(command, str) else list(command)
    assert words[0] == "redis-server"
    return words[1:]


def test_the_production_broker_writes_an_append_only_file_on_a_named_volume():
    arguments = _redis_arguments()
    assert "--appendonly" in arguments and arguments[arguments.index("--appendonly") + 1] == "yes"
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in COMPOSE["services"]["redis"]["volumes"]}
    assert "/data" in mounts  # the image's working directory, where the append-only file goes
    assert mounts["/data"] in COMPOSE["volumes"]  # a named volume: it outlives the container


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """redis-server with the compose file's arguments, on a free port, keeping its files in `data`."""

    def __init__(self, data: Path) -> None:
        self.data, self.port = data, _free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> redis.Redis:
        arguments = [*_redis_arguments(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data)]
        self.proc = subprocess.Popen(["redis-server", *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        assert wait_for(up, timeout=20), "redis-server did not start"
        return client

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # a crash or a container killed: no shutdown save
            self.proc.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        service_missing("redis-server is not installed (apt-get install -y redis-server)")
    server = RedisServer(tmp_path)
    yield server
    server.kill()


def test_a_queued_task_survives_a_broker_killed_and_started_again(redis_server):
    from npl_recovery.celery import app

    client = redis_server.start()
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    with app.connection_for_write(url) as conn:
        app.send_task("loans.tasks.import_loan_book", args=[42], queue="imports", connection=conn)
    assert client.llen("imports") == 1
    # Killed at once: the write is in the append-only file already (everysec only defers the fsync,
    # which matters for a power cut, not for a process that dies).
    redis_server.kill()

    client = redis_server.start()
    assert client.llen("imports") == 1, "the queued task was lost with the broker's restart"
