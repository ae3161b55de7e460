"""Shared argument handling for the operator commands that run ledger jobs."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from datetime import datetime

from loyalty.timing import parse_as_of


def as_of_argument(value: str) -> datetime:
    try:
        return parse_as_of(value)
    except ValueError as exc:
        raise ArgumentTypeError(str(exc)) from exc


def add_job_arguments(parser: ArgumentParser, *, dry_run: bool = True) -> None:
    parser.add_argument(
        "--as-of",
        type=as_of_argument,
        default=None,
        help="Run as of this ISO date or date-time (default: now; a date = its midnight).",
    )
    parser.add_argument("--batch-size", type=int, default=2000, help="Accounts per transaction.")
    if dry_run:
        parser.add_argument("--dry-run", action="store_true", help="Report, write nothing.")
