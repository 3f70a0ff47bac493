from .cart import Cart


def cart(request):
    session = request.session
    if session.session_key is None and not session.modified:
        # No session yet, so the cart is empty; reading it would add "Vary: Cookie" to a page
        # that is the same for every visitor without a session cookie.
        return {"cart_count": 0}
    return {"cart_count": len(Cart(session))}
