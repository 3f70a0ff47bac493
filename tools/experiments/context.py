"""What a scenario works with: a running stack, shoppers on it, and how much to measure."""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from shop.core.profiles import profile
from tools.client import Browser, Shopper, products_for_sale


@dataclass
class Context:
    """A scenario is a function of a Context that returns an Outcome. The lab's matrix makes one per
    profile; a stack test makes one over its own stack (``Context(stack, probes=8, quick=True)``)."""

    stack: object  # tools.stack.stack.Stack, running
    probes: int = 24
    trials: int = 5
    quick: bool = False
    # (profile, **shape) -> a started Stack, for scenarios that need another shape (sticky balancing)
    start_stack: Callable | None = None
    progress: Callable = print
    used: list = field(default_factory=list)  # the stacks this scenario ran on, described

    @property
    def profile(self):
        return self.stack.profile

    @property
    def facts(self):
        """What the registry knows of the profile (shop/core/profiles.py): the lab reads no names."""
        return profile(self.profile)

    def shopper(self, label, stack=None):
        return Shopper((stack or self.stack).url, f"lab-{self.profile}-{label}".replace("_", ""))

    def shopper_with_cart(self, label, products=None, quantity=1, stack=None):
        """A new shopper, signed up, with ``quantity`` of each of ``products`` (one product if
        none are named) in the cart."""
        shopper = self.shopper(label, stack).sign_up()
        for product in products or self.products(stack=stack):
            shopper.add(product, quantity)
        return shopper

    def products(self, count=1, stack=None, min_stock=40):
        """Products with stock to spare: every profile's shopper of a lab run buys from one catalog."""
        with Browser((stack or self.stack).url) as browser:
            return products_for_sale(browser, count, min_stock=min_stock)

    @contextlib.contextmanager
    def other_stack(self, **shape):
        """A stack of this profile in another shape (``balance=``, ``servers=``, ``workers=``)."""
        if self.start_stack is None:
            raise NotImplementedError("this context cannot start stacks")
        stack = self.start_stack(self.profile, **shape)
        self.used.append(stack.describe())
        try:
            yield stack
        finally:
            stack.stop()
