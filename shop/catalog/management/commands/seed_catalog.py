import itertools
import random
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.text import slugify

from shop.catalog import version
from shop.catalog.models import Category, Product

# fmt: off
# category: (nouns, lowest price, highest price)
CATEGORIES = {
    "Kitchen": (["Kettle", "Teapot", "Chef's Knife", "Cutting Board", "Saucepan", "Colander",
                 "Salad Bowl", "Pepper Mill", "Mixing Bowl", "Skillet"], 8, 140),
    "Home Office": (["Desk Lamp", "Notebook", "Pen Set", "Monitor Stand", "Desk Organizer",
                     "Bookend", "Letter Tray", "Desk Mat", "Stapler", "Wall Clock"], 4, 220),
    "Outdoors": (["Backpack", "Water Bottle", "Camping Mug", "Hammock", "Headlamp",
                  "Picnic Blanket", "Trekking Pole", "Dry Bag", "Folding Chair", "Lantern"], 9, 260),
    "Garden": (["Watering Can", "Planter", "Trowel", "Pruning Shears", "Bird Feeder",
                "Garden Gloves", "Seed Tray", "Hose Nozzle", "Kneeler", "Rain Gauge"], 5, 120),
    "Bath": (["Towel", "Soap Dish", "Bath Mat", "Shower Caddy", "Toothbrush Holder",
              "Robe", "Laundry Basket", "Mirror", "Washcloth Set", "Bath Tray"], 6, 150),
    "Bedroom": (["Pillow", "Duvet Cover", "Throw Blanket", "Bedside Lamp", "Alarm Clock",
                 "Sheet Set", "Storage Box", "Jewelry Tray", "Slippers", "Reading Light"], 12, 320),
    "Tableware": (["Dinner Plate", "Mug", "Tumbler", "Wine Glass", "Serving Platter",
                   "Cutlery Set", "Napkin Set", "Carafe", "Cake Stand", "Butter Dish"], 5, 180),
    "Travel": (["Duffel Bag", "Passport Holder", "Packing Cubes", "Neck Pillow", "Toiletry Bag",
                "Luggage Tag", "Travel Adapter", "Sleep Mask", "Weekender", "Card Wallet"], 7, 240),
}
ADJECTIVES = ["Classic", "Compact", "Everyday", "Handmade", "Heritage", "Minimal", "Nordic", "Rustic",
              "Sturdy", "Vintage", "Modern", "Coastal", "Alpine", "Urban", "Studio", "Cozy", "Slim",
              "Grand", "Field", "Atelier"]
MATERIALS = ["Oak", "Walnut", "Ceramic", "Linen", "Copper", "Steel", "Bamboo", "Wool", "Stoneware",
             "Canvas"]
# fmt: on


class Command(BaseCommand):
    help = (
        "Fill the catalog with a deterministic demo: products spread over 8 categories with "
        "realistic names, prices and stock. Idempotent: existing products are left as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=200, help="how many products (default 200)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if any product exists")
        parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")

    @transaction.atomic
    def handle(self, *args, products, if_empty, seed, **options):
        if products < 0:
            self.stderr.write("--products must be 0 or more.")
            return
        if if_empty and Product.objects.exists():
            self.stdout.write("Catalog already has products; nothing to do.")
            return
        categories = self.categories()
        rng = random.Random(seed)
        combos = [
            (adjective, material, noun, category)
            for category, (nouns, _, _) in CATEGORIES.items()
            for adjective, material, noun in itertools.product(ADJECTIVES, MATERIALS, nouns)
        ]
        rng.shuffle(combos)
        before = Product.objects.count()
        Product.objects.bulk_create(
            (self.product(i, combos, categories, rng) for i in range(products)),
            batch_size=2000,
            ignore_conflicts=True,
        )
        added = Product.objects.count() - before
        version.bump()  # bulk inserts send no signals
        self.stdout.write(f"Catalog: {added} products added, {before + added} in all.")

    @staticmethod
    def categories():
        Category.objects.bulk_create(
            [Category(name=name, slug=slugify(name)) for name in CATEGORIES], ignore_conflicts=True
        )
        return {category.name: category for category in Category.objects.filter(name__in=CATEGORIES)}

    @staticmethod
    def product(i, combos, categories, rng):
        adjective, material, noun, category = combos[i % len(combos)]
        series = i // len(combos)
        name = f"{adjective} {material} {noun}" + (f" Series {series + 1}" if series else "")
        _, low, high = CATEGORIES[category]
        cents = rng.randint(low * 100, high * 100)
        return Product(
            category=categories[category],
            name=name,
            slug=slugify(name),
            description=(
                f"{'An' if adjective[0] in 'AEIOU' else 'A'} {adjective.lower()} {noun.lower()} "
                f"in {material.lower()}, "
                f"from our {category.lower()} range. Built to last and easy to care for."
            ),
            price=Decimal(cents // 10 * 10 + 9) / 100,  # prices end in 9 cents: 12.49
            stock=0 if rng.random() < 0.05 else rng.randint(1, 100),  # a few sold out
        )
