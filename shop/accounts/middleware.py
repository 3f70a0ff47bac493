"""Who the visitor is, without reading a session that cannot exist."""

from django.contrib.auth.models import AnonymousUser


def anonymous_without_session(get_response):
    """A request without a session cookie is an anonymous visitor: say so without asking the session.

    Reading the session, even an empty one, makes SessionMiddleware add ``Vary: Cookie``;
    a catalog page that does not is the same for every visitor without a session cookie,
    which is what lets nginx serve it from its cache (docs/ARCHITECTURE.md, "Caching").
    ``login()`` later in the request still sets the user it logs in.
    """

    def middleware(request):
        if request.session.session_key is None:
            request.user = AnonymousUser()
        return get_response(request)

    return middleware
