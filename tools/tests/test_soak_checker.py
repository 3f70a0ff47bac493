"""The soak's checker on hand-made histories: every verdict can pass, and every one can fail."""

import itertools

import pytest

from tools.soak.availability import longest_unavailable, per_fault
from tools.soak.checker import check, failed, totals

ALICE, BOB = "alice-1", "bob-2"
TOKEN, OTHER_TOKEN = "6f1c2a4e-0000-4000-8000-000000000001", "6f1c2a4e-0000-4000-8000-000000000002"


class Script:
    """Ops in the order written, each 0.1 s long; the soak's recorder would write the same."""

    def __init__(self):
        self.ops, self.clock, self.ids = [], itertools.count(), itertools.count(1)

    def op(self, action, method, path, status, shopper="s1", browser=None, **fields):
        start = next(self.clock) / 10
        op = {"id": next(self.ids), "shopper": shopper, "browser": browser or shopper, "action": action}
        op |= {"method": method, "path": path, "start": start, "end": round(start + 0.1, 3), "status": status}
        op |= {"location": None, "retry_after": None} | fields
        self.ops.append(op)
        return op

    def signup(self, shopper="s1", status=302):
        return self.op("signup", "POST", "/accounts/signup/", status, shopper, location="/")

    def add(self, product, quantity=1, status=302, **fields):
        location = "/cart/" if status == 302 else None
        return self.op(
            "add",
            "POST",
            f"/cart/add/{product}/",
            status,
            location=location,
            product=product,
            quantity=quantity,
            **fields,
        )

    def remove(self, product, status=302, **fields):
        location = "/cart/" if status == 302 else None
        return self.op(
            "remove", "POST", f"/cart/remove/{product}/", status, location=location, product=product, **fields
        )

    def cart(self, lines, user=ALICE, shopper="s1", browser=None):
        lines = {str(product): quantity for product, quantity in lines.items()}
        return self.op("cart", "GET", "/cart/", 200, shopper, browser, user=user, lines=lines)

    def checkout(self, order=None, status=302, token=TOKEN, shopper="s1", **fields):
        location = f"/orders/{order}/" if order and status == 302 else None
        return self.op(
            "checkout", "POST", "/checkout/", status, shopper, location=location, token=token, **fields
        )

    def history(self, shared=True, initial_stock=None, faults=()):
        return {
            "profile": {"name": "db", "shared": shared},
            "users": {"s1": ALICE, "s2": BOB},
            "initial_stock": initial_stock or {},
            "seconds": next(self.clock) / 10,
            "faults": list(faults),
            "ops": self.ops,
        }


def order(order_id, items, token=TOKEN, user=ALICE):
    return {"id": order_id, "user": user, "token": token, "items": {str(p): q for p, q in items.items()}}


def verdicts(history, orders=(), stock=None):
    return {v.key: v for v in check(history, {"orders": list(orders), "stock": stock or {}})}


@pytest.fixture
def script():
    s = Script()
    s.signup()
    return s


def test_a_read_that_lacks_an_acknowledged_add_is_a_loss(script):
    script.add(7, 2)
    script.cart({7: 2})
    assert verdicts(script.history())["lost_changes"].passed
    script.add(7, 1)
    script.cart({7: 2})
    lost = verdicts(script.history())["lost_changes"]
    assert not lost.passed and lost.line.startswith("1 of 2 acknowledged cart changes lost")
    expected = {"product": "7", "seen": 2, "expected": [3], "change": 4}
    assert {key: lost.evidence[0][key] for key in expected} == expected


def test_a_change_without_an_answer_may_or_may_not_have_happened(script):
    script.add(7, 1, status=None)
    script.add(8, 1, status=502)
    script.cart({8: 1})
    assert verdicts(script.history())["lost_changes"].passed


def test_two_tabs_at_once_must_keep_both_lines(script):
    """The unsafe soak's evidence: without the lock, the last save wins and a line goes."""
    first, second = script.add(7), script.add(8)
    second["start"], second["end"] = first["start"], first["end"] + 0.05
    script.cart({7: 1, 8: 1})
    assert verdicts(script.history())["lost_changes"].passed
    script.cart({8: 1})
    lost = verdicts(script.history())["lost_changes"]
    assert not lost.passed and [e["change"] for e in lost.evidence] == [first["id"]]


def test_a_removed_line_that_comes_back_is_a_lost_remove(script):
    script.add(7)
    removal = script.remove(7)
    script.cart({7: 1})
    lost = verdicts(script.history())["lost_changes"]
    assert not lost.passed and lost.evidence[0]["change_action"] == "remove" == removal["action"]


def test_a_line_no_request_made_is_unexplained(script):
    script.add(7, status=400)  # refused: changed nothing
    script.cart({7: 1})
    lost = verdicts(script.history())["lost_changes"]
    assert not lost.passed and lost.evidence[0]["unexplained"]


def test_a_loss_found_again_by_later_reads_counts_once(script):
    script.add(7)
    script.cart({})
    script.cart({7: 1})  # back again (a stale copy, then the right one): the same change
    lost = verdicts(script.history())["lost_changes"]
    assert lost.line.startswith("1 of 1") and len(lost.evidence) == 1


def test_the_order_a_checkout_made_is_a_read_of_the_cart(script):
    script.add(7, 2)
    script.add(8, 1)
    script.checkout(order=41)
    script.cart({})
    assert verdicts(script.history(), [order(41, {7: 2, 8: 1})])["lost_changes"].passed
    lost = verdicts(script.history(), [order(41, {7: 2})])["lost_changes"]
    assert not lost.passed and lost.evidence[0]["where"] == "order 41"


def test_an_acknowledged_checkout_empties_the_cart(script):
    script.add(7)
    script.checkout(order=41)
    script.cart({7: 1})
    lost = verdicts(script.history(), [order(41, {7: 1})])["lost_changes"]
    assert not lost.passed and lost.evidence[0]["change_action"] == "checkout"


def test_a_checkout_without_an_answer_emptied_the_cart_only_if_the_database_has_its_order(script):
    script.add(7)
    script.checkout(status=None)
    script.cart({})
    assert verdicts(script.history(), [order(41, {7: 1})])["lost_changes"].passed
    assert not verdicts(script.history(), [])["lost_changes"].passed


def test_an_answer_without_the_login_is_an_unexpected_logout(script):
    script.add(7)
    script.cart({}, user=None)
    found = verdicts(script.history())
    assert not found["logouts"].passed and found["logouts"].line.startswith("1 unexpected logouts")
    assert found["lost_changes"].evidence[0]["logged_out"]


def test_a_logout_the_shopper_asked_for_is_expected(script):
    script.op("logout", "POST", "/accounts/logout/", 302, location="/")
    script.cart({}, user=None)
    script.op("login", "POST", "/accounts/login/", None)  # no answer: maybe signed in
    script.cart({}, user=None)
    assert verdicts(script.history())["logouts"].passed


def test_logouts_are_measured_not_judged_where_the_stack_shares_no_sessions(script):
    script.cart({}, user=None)
    logouts = verdicts(script.history(shared=False))["logouts"]
    assert logouts.passed is None and "1 unexpected" in logouts.line


def test_another_shoppers_session_always_fails(script):
    script.cart({}, user=BOB)
    assert not verdicts(script.history(shared=False))["logouts"].passed


def test_a_device_ended_from_another_is_expected_to_be_signed_out(script):
    script.op("login", "POST", "/accounts/login/", 302, browser="s1-phone", location="/")
    script.cart({}, browser="s1-phone")
    script.op(
        "end_device",
        "POST",
        "/accounts/sessions/x/end/",
        302,
        location="/accounts/sessions/",
        target="s1-phone",
    )
    script.cart({}, user=None, browser="s1-phone")
    assert verdicts(script.history())["logouts"].passed
    script.ops[-2]["status"] = 404  # refused: the phone must still be signed in
    assert not verdicts(script.history())["logouts"].passed


def test_a_confirmed_order_must_be_in_the_database_for_its_form_and_shopper(script):
    script.add(7)
    script.checkout(order=41)
    assert verdicts(script.history(), [order(41, {7: 1})])["missing_orders"].passed
    for orders in ([], [order(41, {7: 1}, token=OTHER_TOKEN)], [order(41, {7: 1}, user=BOB)]):
        missing = verdicts(script.history(), orders)["missing_orders"]
        assert not missing.passed and missing.line == "1 of 1 confirmed orders missing"


def test_one_form_sent_again_must_not_make_a_second_order(script):
    script.add(7)
    script.checkout(status=None)
    script.checkout(order=41)
    found = verdicts(script.history(), [order(41, {7: 1})])["duplicate_orders"]
    assert found.passed and "(1 forms were sent again)" in found.line
    assert not verdicts(script.history(), [order(41, {7: 1}), order(42, {7: 1})])["duplicate_orders"].passed
    script.checkout(order=42)
    assert not verdicts(script.history(), [order(41, {7: 1})])["duplicate_orders"].passed


def test_an_order_never_confirmed_must_show_in_the_order_list_later(script):
    script.add(7)
    script.checkout(status=None)
    script.op("orders", "GET", "/accounts/orders/", 200, user=ALICE, orders=[41])
    unconfirmed = verdicts(script.history(), [order(41, {7: 1})])["unconfirmed_orders"]
    assert unconfirmed.passed and unconfirmed.line.startswith(
        "1 orders never confirmed to their shopper, 1 of them"
    )
    script.ops[-1]["orders"] = []
    assert not verdicts(script.history(), [order(41, {7: 1})])["unconfirmed_orders"].passed


def test_an_order_no_form_made_fails(script):
    assert not verdicts(script.history(), [order(41, {7: 1}, token=OTHER_TOKEN)])["unconfirmed_orders"].passed


def test_stock_is_conserved_and_never_negative(script):
    history = script.history(initial_stock={"7": 10, "8": 5})
    assert verdicts(history, [order(41, {7: 3})], stock={"7": 7, "8": 5})["stock"].passed
    assert not verdicts(history, [order(41, {7: 3})], stock={"7": 8, "8": 5})["stock"].passed
    assert not verdicts(history, [], stock={"7": 10, "8": -1})["stock"].passed


def test_server_errors_are_every_5xx_but_a_503_that_says_when_to_retry(script):
    script.op("cart", "GET", "/cart/", 503, retry_after="5")
    assert verdicts(script.history())["server_errors"].passed
    script.op("add", "POST", "/cart/add/7/", 502, product=7)
    script.op("cart", "GET", "/cart/", 503)
    errors = verdicts(script.history())["server_errors"]
    assert not errors.passed and errors.line == "GET /cart/ 503: 1, POST /cart/add/N/ 502: 1"


def test_a_post_cut_off_by_a_servers_sigkill_is_a_502_counted_apart(script):
    cut = script.op("add", "POST", "/cart/add/7/", 502, product=7)
    kill = {
        "kind": "kill_server",
        "target": "server2",
        "start": cut["start"] + 0.05,
        "end": cut["start"] + 0.05,
    }
    errors = verdicts(script.history(faults=[kill | {"healed": None, "ok": True, "note": ""}]))[
        "server_errors"
    ]
    assert errors.passed and errors.line.startswith(
        "none (and 1 POSTs in flight on a server that was SIGKILLed"
    )
    kill["start"] = cut["start"] - 0.5  # sent while the killed server's processes were dying
    assert verdicts(script.history(faults=[kill | {"healed": None, "ok": True, "note": ""}]))[
        "server_errors"
    ].passed
    kill["start"] = cut["end"] + 1  # the kill came later: nothing explains the 502
    assert not verdicts(script.history(faults=[kill | {"healed": None, "ok": True, "note": ""}]))[
        "server_errors"
    ].passed


def test_only_verdicts_about_data_decide_the_exit_status(script):
    script.op("add", "POST", "/cart/add/7/", 502, product=7)
    assert failed(check(script.history(), {"orders": [], "stock": {}})) == []
    script.cart({7: 5})
    assert [v.key for v in failed(check(script.history(), {"orders": [], "stock": {}}))] == ["lost_changes"]


def test_unavailability_per_fault():
    ops = [
        {"start": 1.0, "end": 1.2, "status": 200},
        {"start": 1.1, "end": 2.0, "status": None},
        {"start": 1.5, "end": 3.5, "status": 502},
        {"start": 3.6, "end": 3.7, "status": 200},
        {"start": 5.0, "end": 5.5, "status": 503},
    ]
    assert longest_unavailable(ops) == 2.4
    faults = [{"kind": "kill_server", "target": "server2", "start": 1.0, "end": 1.0, "healed": 3.0}]
    [row] = per_fault({"ops": ops, "faults": faults, "seconds": 6.0})
    assert (row["requests"], row["unavailable"], row["share"]) == (3, 2, 0.667)
    assert row["longest_unavailable"] == 2.4


def test_totals(script):
    script.add(7)
    script.add(8, status=None)
    script.checkout(order=41)
    counted = totals(script.history(), {"orders": [order(41, {7: 1})], "stock": {}})
    assert counted | {"requests": 0} == {
        "requests": 0,
        "acknowledged_adds": 1,
        "acknowledged_changes": 1,
        "unknown_changes": 1,
        "orders_acknowledged": 1,
        "orders_in_db": 1,
        "unavailable": 1,
        "faults": 0,
    }
