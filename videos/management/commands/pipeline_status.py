"""The checks of /healthz as text, for cron and monitoring: exits 1 when something is wrong."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from videos import health


class Command(BaseCommand):
    help = "Check the database, the broker, the task cluster, the poll loop and overdue archives."

    def handle(self, *args, **options) -> None:
        report = health.run_checks()
        width = max(len(check.name) for check in report.checks)
        for check in report.checks:
            verdict = self.style.SUCCESS("ok  ") if check.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{check.name.ljust(width)}  {verdict}  {check.detail}")
        if not report.healthy:
            raise CommandError(f"unhealthy: {', '.join(report.failing)}")
        self.stdout.write("healthy")
