"""The distributed deployment's compose file: every Celery queue has a worker."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.conf import settings

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yaml"


def _consumed_queues() -> set[str]:
    """The queues the compose file's worker roles listen on (``-Q a,b``)."""
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    queues: set[str] = set()
    for service in services.values():
        command = service.get("command") or []
        if command[:1] == ["worker"] and "-Q" in command:
            queues.update(command[command.index("-Q") + 1].split(","))
    return queues


def test_every_queue_has_a_worker_in_the_distributed_deployment() -> None:
    """Each queue tasks are routed to is consumed by some worker role of the compose file."""
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    declared = set(settings.TASK_QUEUES)
    assert routed <= declared
    assert declared <= _consumed_queues()


ROOT = COMPOSE.parents[1]
ROLE_COMMANDS = {"web", "worker", "watch", "beat", "setup"}


def test_every_role_has_its_command_and_the_broker_and_database_their_image() -> None:
    """Each motcua service runs one of the roles; every role of the deployment is there."""
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    roles: set[str] = set()
    for name, service in services.items():
        if "image" in service:  # postgres, redis
            continue
        command = service.get("command")
        assert command and command[0] in ROLE_COMMANDS, f"{name}: {command}"
        roles.add(command[0])
    assert roles == ROLE_COMMANDS


def test_every_long_running_service_is_started_again_when_it_exits() -> None:
    """A role Celery or a crash ended comes back (``restart``), as under ``motcua run``;
    only the one-off setup does not."""
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    policies = {name: service.get("restart") for name, service in services.items()}
    assert policies.pop("setup") == "no"
    assert policies and set(policies.values()) == {"unless-stopped"}, policies


def test_image_installs_with_the_readme_step_runs_unprivileged_and_carries_no_secret() -> None:
    """./bootstrap setup inside, a USER that is not root, nothing secret copied in."""
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in dockerfile.splitlines() if ln.strip() and ln[0] != "#"]
    assert any(ln.startswith("RUN ./bootstrap setup") for ln in lines)
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    assert not any(
        ln.startswith(("ENV", "ARG")) and ("SECRET_KEY=" in ln or "PASSWORD=" in ln) for ln in lines
    )
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", "var", ".env", "docker/.env", "*.pem", "*.p12"} <= ignored


def test_compose_config_is_valid_where_docker_compose_exists() -> None:
    """``docker compose config`` accepts the file (only this check waits for Docker)."""
    import os
    import shutil
    import subprocess

    docker = shutil.which("docker")
    probe = (
        subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
        if docker
        else None
    )
    if docker is None or probe is None or probe.returncode != 0:
        reason = "no docker" if probe is None else probe.stderr.decode(errors="replace").strip()
        print(f"docker compose config not checked: docker compose unavailable ({reason})")
        return
    env = dict(os.environ, MOTCUA_DB_PASSWORD="a-long-random-value-for-the-check-only")
    done = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
