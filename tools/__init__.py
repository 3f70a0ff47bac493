"""The tools that start and drive the shop: ``runstack`` (``stack/``), ``sessionlab``
(``experiments/``), ``bench`` (``bench/``), ``soak`` (``soak/``) and the one HTTP client they
share (``client.py``).

A Django app only so that ``manage.py`` finds their commands; nothing the servers import
imports this package's modules (``shop/core/tests/test_servers_load_the_shop_only.py``).
"""
