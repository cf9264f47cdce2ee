"""The `hall` command line."""
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    print("govhall: work in progress; see README.md")
    return 0
