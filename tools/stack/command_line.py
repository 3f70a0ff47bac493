"""What the commands that start a stack (runstack, soak) share on their command line."""

import argparse

from django.core.management.base import BaseCommand, DjangoHelpFormatter

from shop.core.profiles import DEFAULT, PROFILES


class Formatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's option order, with the description's paragraphs kept as written."""


def add_shape_arguments(parser):
    """--profile, --servers and --workers, as every command that starts a stack takes them."""
    parser.add_argument(
        "--profile", choices=PROFILES, default=DEFAULT, help=f"session profile (default: {DEFAULT})"
    )
    parser.add_argument("--servers", type=int, default=3, help="gunicorn servers (default: 3)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per server (default: 2)")


class StackCommand(BaseCommand):
    """A command that starts a stack: its ``epilog`` (text, kept as written) follows the options."""

    epilog = None

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs.update(formatter_class=Formatter, epilog=self.epilog)
        return super().create_parser(prog_name, subcommand, **kwargs)
