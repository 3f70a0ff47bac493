"""Property: whatever a shopper does, the cart stays within its caps and its cookie budget."""

from decimal import Decimal

import pytest
from django.contrib.sessions.backends.signed_cookies import SessionStore
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop.cart.cart import MAX_LINES, MAX_QUANTITY, Cart, CartError

PRODUCTS = MAX_LINES + 10
COOKIE_LIMIT = 4096

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"), st.integers(0, PRODUCTS - 1), st.integers(-5, MAX_QUANTITY * 3), st.booleans()
        ),
        st.tuples(st.just("remove"), st.integers(0, PRODUCTS - 1)),
        st.tuples(st.just("clear")),
    ),
    max_size=200,
)


@pytest.fixture
def products(make_product):
    # Nine-digit ids: the longest keys a real catalog would put in the cookie.
    return [
        make_product(pk=10**9 + i, stock=(i * 37) % 150, price=Decimal("9.99"), is_active=i % 11 != 0)
        for i in range(PRODUCTS)
    ]


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
def test_any_sequence_keeps_the_cart_within_caps_and_cookie_budget(products, user, steps):
    session = SessionStore()
    # A signed-in session: the auth keys share the cookie with the cart.
    session.update(
        {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": user.get_session_auth_hash(),
        }
    )
    cart = Cart(session)
    for step in steps:
        if step[0] == "add":
            _, index, quantity, override = step
            before = dict(cart.lines)
            try:
                cart.add(products[index], quantity, override=override)
            except CartError:
                assert cart.lines == before  # a refused change changes nothing
        elif step[0] == "remove":
            cart.remove(products[step[1]].pk)
        else:
            cart.clear()

    stock = {str(p.pk): p.stock for p in products}
    assert len(cart.lines) <= MAX_LINES
    for key, quantity in cart.lines.items():
        assert 1 <= quantity <= min(MAX_QUANTITY, stock[key])
    assert Cart(session).lines == cart.lines  # what is stored reads back the same
    # The engine's own serialization: exactly the value its Set-Cookie would carry.
    assert len(f"sessionid={session._get_session_key()}") < COOKIE_LIMIT
