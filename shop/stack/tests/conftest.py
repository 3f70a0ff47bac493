"""The stack fixtures live in shop.stack.testing, so that other apps' tests can use them too."""

from shop.stack.testing import stack_database, start_stack  # noqa: F401 (fixtures)
