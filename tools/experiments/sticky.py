"""Scenario 6: sticky balancing (ip_hash, sticky_cookie) as a "fix" for locmem's lost sessions."""

import collections

from .continuity import servers_text
from .outcome import Outcome, Part, only, scenario

BALANCES = ("ip_hash", "sticky_cookie")


def visit(ctx, stack, product, probes):
    """An anonymous cart, then sign-up (a new session key), then probes: what moved where."""
    shopper = ctx.shopper(stack.balance.replace("_", ""), stack)
    shopper.add(product, 1)
    cart_server = shopper.steps[-1]["server"]
    shopper.sign_up()
    signup_server = shopper.steps[-1]["server"]
    answers = shopper.probes(probes)
    return shopper, {
        "cart_server": cart_server,
        "signup_server": signup_server,
        "login_moved": answers[0].server != signup_server,
        "logged_in_after_signup": shopper.logged_in(answers[0]),
        "tally": shopper.tally(answers),
    }


def variant(ctx, balance, workers):
    shoppers = 2 if ctx.quick else 3
    with ctx.other_stack(balance=balance, workers=workers) as stack:
        product = ctx.products(stack=stack)[0]
        visits = [visit(ctx, stack, product, max(4, ctx.probes // shoppers)) for _ in range(shoppers)]
        ctx.progress(f"{balance}, {len(stack.servers)}x{workers}: restarting every server")
        stack.restart()
        after = [shopper.tally(shopper.probes(2)) for shopper, _ in visits]
    tallies = [v["tally"] for _, v in visits]
    return {
        "balance": balance,
        "servers": len(stack.servers),
        "workers": workers,
        "shoppers": shoppers,
        "kept": sum(t.kept for t in tallies),
        "total": sum(t.total for t in tallies),
        "answered_by": dict(
            sorted(sum((collections.Counter(t.servers) for t in tallies), collections.Counter()).items())
        ),
        "cart_servers": sorted({v["cart_server"] for _, v in visits}),
        "login_moved": sum(v["login_moved"] for _, v in visits),
        "login_kept": sum(v["logged_in_after_signup"] for _, v in visits),
        "after_restart": [sum(t.kept for t in after), sum(t.total for t in after)],
    }


def explain(r):
    if r["balance"] == "ip_hash" and len(r["answered_by"]) == 1:
        text = (
            f"ip_hash sent every request to {', '.join(r['answered_by'])}: every client here is 127.0.0.1, "
            "so it 'fixes' the failure by not balancing at all (behind a proxy or NAT the same happens "
            "to real users)."
        )
    elif r["balance"] == "ip_hash":
        text = f"ip_hash spread this machine's requests over {', '.join(r['answered_by'])}."
    else:
        text = (
            "sticky_cookie hashes the session cookie. A request without one is not pinned at all (nginx "
            "balances an empty hash key round robin: the first carts went to "
            f"{', '.join(r['cart_servers'])}), and at sign-up Django issues a new session key, which hashes "
            f"afresh: the first request after it went to another server for {r['login_moved']} of "
            f"{r['shoppers']} shoppers."
        )
    if r["workers"] > 1 and r["kept"] < r["total"]:
        text += (
            f" With {r['workers']} workers per server sessions are still lost: the balancer pins a "
            "server, not a worker process, and each worker keeps its own memory."
        )
    return text


@scenario(
    6,
    "sticky",
    "sticky locmem",
    "locmem behind ip_hash / sticky_cookie: fixed? What happens at login and on restart?",
    only(
        lambda profile: not profile.across_servers,
        "sticky balancing is a workaround for per-process sessions; this profile shares them (scenario 1)",
    ),
)
def sticky(ctx):
    workers = ctx.stack.workers
    variants = [(balance, workers) for balance in BALANCES]
    if workers > 1 and not ctx.quick:
        variants += [(balance, 1) for balance in BALANCES]
    results = [variant(ctx, balance, w) for balance, w in variants]
    after_kept, after_total = (sum(r["after_restart"][i] for r in results) for i in (0, 1))
    parts = [
        Part(
            f"{r['balance']} {r['servers']}x{r['workers']}: probes that kept the session",
            r["kept"],
            r["total"],
        )
        for r in results
    ]
    parts.append(Part("probes after a restart of every server", after_kept, after_total))
    line = (
        "; ".join(
            f"{r['balance']} {r['servers']}x{r['workers']}: {r['kept']}/{r['total']} kept, logged in "
            "right after "
            f"sign-up {r['login_kept']}/{r['shoppers']}, answered by {servers_text(r['answered_by'])}"
            for r in results
        )
        + f"; after a restart {after_kept}/{after_total} kept"
    )
    notes = [
        *map(explain, results),
        f"A restart empties every process's memory: {after_kept}/{after_total} probes kept after it. "
        "Sticky balancing hides the stateful failure at best; it does not remove it.",
    ]
    return Outcome(parts, line, " ".join(notes), {"variants": results})
