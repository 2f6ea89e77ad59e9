"""`python -m rules check EXPR` / `python -m rules eval EXPR --faults FILE`."""
import argparse
import sys

from .cli import check, eval_csv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rules",
                                     description="fleetwatch rule language")
    commands = parser.add_subparsers(dest="command", required=True)
    check_command = commands.add_parser("check", help="exit 0 if EXPR is a valid rule, else 2")
    check_command.add_argument("expr", metavar="EXPR")
    eval_command = commands.add_parser("eval",
                                       help="print the violations of EXPR over a faults CSV")
    eval_command.add_argument("expr", metavar="EXPR")
    eval_command.add_argument("--faults", required=True, metavar="FILE",
                              help="CSV with header serial_number,tag,timestamp")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(args.expr, sys.stderr)
    return eval_csv(args.expr, args.faults, sys.stdout, sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
