"""What every session must hold, replayed from the answers the shop gave: acknowledged cart
changes that a later read lacks, and logouts nobody asked for.

Each browser's session is replayed in the order its requests started. For every product it keeps
the set of quantities its line may have now (absent is 0): an acknowledged change sets it, a
change without an answer (or with a 5xx) may or may not have happened, so it adds the changed
value to the set, and a refusal changes nothing. A later successful read of the same session (the
cart page, or the order a checkout made, which the database holds) must show one of the possible
values; one it does not show means the last acknowledged change of that line was lost. The
shoppers make this exact: one session never changes one line from two requests at once (two tabs
add different products), and never reads while it writes.
"""

from .history import DONE, UNKNOWN, outcome

ZERO = frozenset({0})


def token_key(token):
    """A checkout token as the form and the database may each spell a UUID."""
    return str(token).replace("-", "").lower() if token else None


class Session:
    """What one browser's session may hold now."""

    def __init__(self):
        self.signed_in = frozenset({False})
        self.lines = {}  # product id (str) -> frozenset of possible quantities; absent: {0}
        self.last_change = {}  # product id -> the latest acknowledged op that set its line
        self.unread = {}  # product id -> the acknowledged changes since a read last saw the line

    def possible(self, product):
        return self.lines.get(product, ZERO)

    def change(self, product, values, op, done):
        """The line of ``product`` becomes one of ``values``: for sure when ``done``, else maybe."""
        if done:
            self.lines[product] = frozenset(values)
            self.last_change[product] = op
            self.unread.setdefault(product, []).append(op["id"])
        else:
            self.lines[product] = self.possible(product) | frozenset(values)

    def empty(self, op, done):
        """Every line goes (a logout, a checkout), for sure when ``done``, else maybe."""
        for product in list(self.lines):
            self.change(product, {0}, op, done)

    def sign(self, signed_in, done):
        self.signed_in = frozenset({signed_in}) if done else self.signed_in | {signed_in}


class Replay:
    """The verdicts' evidence: ``losses`` (a read lacked an acknowledged change), ``unexplained``
    (a read showed a line no request could have made), ``logouts`` and ``strangers`` (a session
    that showed another user)."""

    def __init__(self, history, orders_by_token):
        self.users = history.get("users", {})
        self.orders = orders_by_token
        self.sessions = {}
        self.losses, self.unexplained, self.logouts, self.strangers = [], [], [], []
        self._order_read = set()
        for op in sorted(history["ops"], key=lambda op: (op["start"], op["id"])):
            self.replay(op)

    def session(self, browser):
        return self.sessions.setdefault(browser, Session())

    def replay(self, op):
        session, state = self.session(op["browser"]), outcome(op)
        done, maybe = state == DONE, state == UNKNOWN
        if "user" in op:  # what the answer showed of who is signed in
            self.observe_user(op, session)
        if not (done or maybe):
            return
        action = op["action"]
        if action in ("add", "set", "remove"):
            product = str(op["product"])
            values = {
                "add": {value + op.get("quantity", 1) for value in session.possible(product)},
                "set": {op.get("quantity")},
                "remove": {0},
            }[action]
            session.change(product, values, op, done)
        elif action == "checkout":
            self.checkout(op, session, done)
        elif action == "logout":
            session.sign(False, done)
            session.empty(op, done)
        elif action in ("signup", "login"):
            session.sign(True, done)  # login() keeps the anonymous session's cart
        elif action == "end_device":
            ended = self.session(op["target"])
            ended.sign(False, done)
            ended.empty(op, done)
        if done and "lines" in op:
            self.read(op, session, op["lines"])

    def checkout(self, op, session, done):
        """The order a checkout form made is what the session's cart held (a read, the first time
        the form is seen); an acknowledged one empties the cart, one without an answer maybe did."""
        key = token_key(op.get("token"))
        order = self.orders.get(key)
        if order is not None and key not in self._order_read:
            self._order_read.add(key)
            self.read(op, session, order["items"], where=f"order {order['id']}")
        if done or order is not None:
            session.empty(op, done)

    def observe_user(self, op, session):
        own = self.users.get(op["shopper"])
        seen = op["user"]
        if seen is not None and seen != own:
            self.strangers.append(self.evidence(op, seen=seen, expected=own))
        elif seen is None and session.signed_in == {True}:
            self.logouts.append(self.evidence(op))
        session.signed_in = frozenset({seen is not None})

    def read(self, op, session, lines, where="cart page"):
        lines = {str(product): quantity for product, quantity in lines.items()}
        logged_out = op.get("user", "") is None
        for product in sorted(set(lines) | set(session.lines)):
            seen, possible = lines.get(product, 0), session.possible(product)
            if seen not in possible:
                change = session.last_change.get(product)
                found = self.evidence(
                    op,
                    product=product,
                    seen=seen,
                    expected=sorted(possible),
                    where=where,
                    logged_out=logged_out,
                )
                if change is None:
                    self.unexplained.append(found)
                else:
                    # Of several changes since a read last saw the line, which one went is not
                    # known: the loss is counted as the latest one's, and every one is named.
                    found |= {
                        "change": change["id"],
                        "change_action": change["action"],
                        "change_end": change["end"],
                        "changes_since_read": session.unread.get(product, []),
                    }
                    self.losses.append(found)
            session.lines[product] = frozenset({seen})
            session.unread.pop(product, None)

    @staticmethod
    def evidence(op, **facts):
        return {
            "read": op["id"],
            "browser": op["browser"],
            "shopper": op["shopper"],
            "at": op["start"],
            **facts,
        }

    def lost_changes(self):
        """Each acknowledged change found lost, once (a later read may find it lost again)."""
        distinct = {}
        for loss in self.losses:
            distinct.setdefault((loss["change"], loss["product"]), loss)
        return list(distinct.values())
