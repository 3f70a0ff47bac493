"""Scenario 6: sticky balancing (ip_hash, sticky_cookie) as a "fix" for locmem's lost sessions."""

from .continuity import servers_text
from .outcome import Outcome, Part
from .shopper import probe_log

BALANCES = ("ip_hash", "sticky_cookie")


def visit(ctx, stack, shopper, probes):
    """An anonymous cart, then sign-up (a new session key), then probes; what moved where."""
    shopper.add(ctx.products(stack)[0], 1)
    cart_server = shopper.steps[-1]["server"]
    shopper.sign_up()
    signup_server = shopper.steps[-1]["server"]
    answers = shopper.probes(probes)
    return {
        "username": shopper.username,
        "cart_server": cart_server,
        "signup_server": signup_server,
        "first_probe_server": answers[0].server,
        # Right after sign-up: still logged in? (the cart is judged by the probes' tally)
        "first_probe_logged_in": shopper.logged_in(answers[0]),
        "tally": shopper.tally(answers).as_json(),
        "steps": shopper.steps,
        "probes": probe_log(answers),
    }


def variant(ctx, balance, workers):
    shopper_count = 2 if ctx.quick else 3
    per_shopper = max(4, ctx.probes // shopper_count)
    with ctx.special_stack(balance=balance, workers=workers) as stack:
        shoppers = [ctx.shopper(stack, balance.replace("_", "")) for _ in range(shopper_count)]
        visits = [visit(ctx, stack, shopper, per_shopper) for shopper in shoppers]
        ctx.progress(f"{balance}, {len(stack.servers)}x{workers}: restarting every server")
        stack.restart()
        after = [shopper.tally(shopper.probes(2)) for shopper in shoppers]
        servers = len(stack.servers)
    kept = sum(v["tally"]["kept"] for v in visits)
    total = sum(v["tally"]["total"] for v in visits)
    answered = {}
    for v in visits:
        for name, count in v["tally"]["servers"].items():
            answered[name] = answered.get(name, 0) + count
    return {
        "balance": balance,
        "servers": servers,
        "workers": workers,
        "kept": kept,
        "total": total,
        "answered_by": dict(sorted(answered.items())),
        "login_moved": sum(v["first_probe_server"] != v["signup_server"] for v in visits),
        "login_kept": sum(v["first_probe_logged_in"] for v in visits),
        "shoppers": len(visits),
        "after_restart": [sum(t.kept for t in after), sum(t.total for t in after)],
        "visits": visits,
    }


def describe(r):
    return (
        f"{r['balance']} {r['servers']}x{r['workers']}: {r['kept']}/{r['total']} kept, logged in right "
        f"after sign-up {r['login_kept']}/{r['shoppers']}, answered by {servers_text(r['answered_by'])}"
    )


def explain(result):
    balance, workers, shoppers = result["balance"], result["workers"], result["shoppers"]
    names = ", ".join(result["answered_by"])
    if balance == "ip_hash" and len(result["answered_by"]) == 1:
        text = (
            f"ip_hash sent every request to {names}: every client here is 127.0.0.1, so it 'fixes' "
            "the failure by not balancing at all (behind a proxy or NAT the same happens to real "
            "users)."
        )
    elif balance == "ip_hash":
        text = f"ip_hash spread this machine's requests over {names}."
    else:
        first = sorted({v["cart_server"] for v in result["visits"]})
        text = (
            "sticky_cookie hashes the session cookie. A request without one is not pinned at all (nginx "
            f"balances an empty hash key round robin: the first carts went to {', '.join(first)}), and at "
            "sign-up Django issues a new session key, which hashes afresh: the first request after it "
            f"went to another server for {result['login_moved']} of {shoppers} shoppers."
        )
    if workers > 1 and result["kept"] < result["total"]:
        text += (
            f" With {workers} workers per server sessions are still lost: the balancer pins a server, "
            "not a worker process, and each worker keeps its own memory."
        )
    return text


def sticky(ctx):
    """6. locmem behind ip_hash and sticky_cookie: fixed? what happens at sign-up and on restart?"""
    variants = [(balance, ctx.workers) for balance in BALANCES]
    if ctx.workers > 1 and not ctx.quick:
        variants += [(balance, 1) for balance in BALANCES]
    results = [variant(ctx, balance, workers) for balance, workers in variants]
    after_kept = sum(r["after_restart"][0] for r in results)
    after_total = sum(r["after_restart"][1] for r in results)
    parts = [
        Part(
            f"{r['balance']} {r['servers']}x{r['workers']}: probes that kept the session",
            r["kept"],
            r["total"],
        )
        for r in results
    ]
    parts.append(Part("probes after a restart of every server", after_kept, after_total))
    line = "; ".join(map(describe, results)) + f"; after a restart {after_kept}/{after_total} kept"
    notes = [explain(r) for r in results]
    notes.append(
        f"A restart empties every process's memory: {after_kept}/{after_total} probes kept after it. "
        "Sticky balancing hides the stateful failure at best; it does not remove it."
    )
    return Outcome(parts, line, " ".join(notes), {"variants": results})
