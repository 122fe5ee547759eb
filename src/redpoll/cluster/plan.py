"""``redpoll cluster plan``: configs for real hosts (filled in later)."""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("--primary", required=True, metavar="HOST[:PORT]")
    p.add_argument("--replica", action="append", default=[], metavar="HOST[:PORT]")
    p.add_argument("--sentinel", action="append", default=[], metavar="HOST[:PORT]")
    p.add_argument("--out", default="./redpoll-plan")


def main(args) -> int:
    raise NotImplementedError
