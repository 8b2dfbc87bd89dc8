"""Run the supplier simulator (fulfillment.simulator) as a real HTTP server until interrupted."""

from __future__ import annotations

import json
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fulfillment.simulator.server import DIALECTS, SupplierSimulator


class Command(BaseCommand):
    help = "Run the supplier simulator: both supplier dialects over HTTP, with fault knobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--dialect", choices=[*DIALECTS, "both"], default="both")
        parser.add_argument(
            "--knob",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a fault knob for this run (value as JSON, e.g. fail_rate=0.2, reject_accounts='[\"13800000000\"]')",
        )
        parser.add_argument("--balance-fen", type=int, default=100_000_000)
        parser.add_argument("--seed", type=int, default=None, help="random seed for reproducible faults")

    def handle(self, *args: Any, **options: Any) -> None:
        knobs: dict[str, Any] = {}
        for item in options["knob"]:
            name, _, raw = item.partition("=")
            try:
                knobs[name] = json.loads(raw)
            except json.JSONDecodeError:
                knobs[name] = raw
        dialects = tuple(DIALECTS) if options["dialect"] == "both" else (options["dialect"],)
        try:
            simulator = SupplierSimulator(
                host=options["host"],
                port=options["port"],
                dialects=dialects,
                knobs=knobs,
                balance_fen=options["balance_fen"],
                seed=options["seed"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from error

        def stop(*_: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(f"supplier simulator ({', '.join(dialects)}) on {simulator.url}", ending="\n")
        self.stdout.flush()
        try:
            simulator.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            simulator.server.server_close()
