"""README command 1: migrate, seed the demo, run web + Celery worker + beat, print where to go.

Ctrl-C stops every child process and the embedded servers this command started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from platform import embedded
from platform.demo import DEMO_PASSWORD, demo_seed
from rights_catalog.demo import simulator_port, simulator_url

ROOT = Path(__file__).resolve().parents[3]


class Command(BaseCommand):
    help = "Run the platform with demo data: web, Celery worker and beat."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-serve", action="store_true", help="migrate and seed, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        os.environ["PORT"] = str(options["port"])  # seeders print URLs with the port that will serve
        call_command("migrate_schemas", interactive=False, verbosity=0)
        from billing.demo import fake_stripe_start

        fake_stripe = fake_stripe_start()  # the stripe library's API base in development
        seeded = demo_seed()
        if options["no_serve"]:
            if fake_stripe is not None:
                os.killpg(fake_stripe.pid, signal.SIGTERM)
                fake_stripe.wait(timeout=15)
            self.stdout.write("\n".join(["demo data ready", *seeded.get("extra_lines", [])]))
            return
        port = options["port"]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "platform.settings"}
        python = sys.executable
        commands = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "platform.wsgi",
                "--bind",
                f"0.0.0.0:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--access-logfile",
                "-",
                "--log-level",
                "warning",
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "platform.celery",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "-Q",
                ",".join(__import__("platform.celery").celery.QUEUES),
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "platform.celery",
                "beat",
                "--loglevel=INFO",
                "--schedule",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ],
            # the supplier simulator the demo suppliers point at (rights_catalog.demo)
            "suppliers": [python, "manage.py", "run_supplier_simulator", "--port", str(simulator_port())],
        }
        children = {
            name: subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603 - our own commands
            for name, cmd in commands.items()
        }
        if fake_stripe is not None:
            children["fake-stripe"] = fake_stripe
        self._print_urls(port, seeded)
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with {child.returncode}; stopping the demo")
                        stopping = True
                time.sleep(0.5)
        finally:
            for child in children.values():
                if child.poll() is None:
                    os.killpg(child.pid, signal.SIGTERM)
            for child in children.values():
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
            from django.db import connections

            connections.close_all()
            embedded.stop_all()
            self.stdout.write("demo stopped")

    def _print_urls(self, port: int, seeded: dict[str, Any]) -> None:
        host = settings.PLATFORM_HOST
        lines = [
            "",
            "Quanyi demo is running (Ctrl-C to stop)",
            f"  platform console   http://{host}:{port}/admin/     login: platform / {DEMO_PASSWORD}",
        ]
        for bank in seeded["banks"]:
            lines += [
                f"  {bank['name']:<12} H5       http://{bank['host']}:{port}/",
                f"  {'':<12} console  http://{bank['host']}:{port}/console/   login: admin / {DEMO_PASSWORD}"
                f"  (operator, auditor too)",
            ]
        lines += seeded.get("extra_lines", [])
        lines += [f"  supplier simulator {simulator_url()}/_sim/knobs   (fault knobs, request log)"]
        lines += [f"  health             http://127.0.0.1:{port}/readyz", ""]
        self.stdout.write("\n".join(lines))
