from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from platform.errors import ApplicationError
from tenants.services import NewBankAdmin, bank_create, bank_host


class Command(BaseCommand):
    help = "Create a bank: its schema (cloned from the template), its host and optional custom domains."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("name")
        parser.add_argument("--name-en", default="")
        parser.add_argument("--domain", action="append", default=[], help="a custom domain; repeatable")
        parser.add_argument("--color", default="#c8102e", help="primary colour, #RRGGBB")
        parser.add_argument("--admin-username")
        parser.add_argument("--admin-password")

    def handle(self, *args: Any, **options: Any) -> None:
        admin = None
        if options["admin_username"]:
            if not options["admin_password"]:
                raise CommandError("--admin-password is required with --admin-username")
            admin = NewBankAdmin(username=options["admin_username"], password=options["admin_password"])
        started = time.perf_counter()
        try:
            bank = bank_create(
                slug=options["slug"],
                name=options["name"],
                name_en=options["name_en"],
                custom_domains=options["domain"],
                color_primary=options["color"],
                admin=admin,
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"created bank {bank.slug} (schema {bank.schema_name}) at http://{bank_host(bank.slug)} in {elapsed:.3f}s"
        )
