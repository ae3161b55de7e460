"""Command-line options every bench shares: the bench database's life and the wait for a
quiet machine before each timed run."""

from __future__ import annotations

import argparse


def add_database_options(parser: argparse.ArgumentParser, *, reuse: bool = True) -> None:
    add = parser.add_argument
    add("--create-db", action="store_true", help="DROP and CREATE the bench database first")
    if reuse:
        add("--reuse-db", action="store_true", help="keep the loaded data (skip the load)")
    add("--keep-db", action="store_true", help="leave the database for inspection")
    add("--quiet-wait", type=float, default=60, help="max seconds to wait for idle CPUs")
