"""Scenario 5: servers with different SECRET_KEYs, and a key rotation with and without fallbacks."""

import secrets

from .outcome import NotApplicable, Outcome, Part
from .shopper import probe_log

# How each engine meets a server whose SECRET_KEY differs (Django 6 behaviour).
MISMATCH = {
    "signed_cookies": "{odd} cannot verify the cookie's signature: it sees no session, answers anonymous "
    "and tells the browser to delete the cookie.",
    "db": "The stored session data is signed with SECRET_KEY: {odd} cannot decode it and answers "
    "anonymous, but leaves the session in the database for the other servers.",
    "file": "The session file's data is signed with SECRET_KEY: {odd} cannot decode it and answers "
    "anonymous, but leaves the file for the other servers.",
    "cache": "Redis holds the session unsigned, so {odd} reads it; but the login carries an auth hash "
    "(an HMAC of the password hash keyed by SECRET_KEY) that does not match {odd}'s, so Django logs "
    "the shopper out and flushes the session from the shared store, for every server.",
    "cached_db": "Redis holds the session unsigned, so {odd} reads it; but the login's auth hash (an HMAC "
    "keyed by SECRET_KEY) does not match {odd}'s, so Django logs the shopper out and deletes the "
    "session from Redis and the database, for every server.",
}


def new_key():
    return secrets.token_urlsafe(50)


def shopper_with_cart(ctx, stack, label):
    shopper = ctx.shopper(stack, label)
    shopper.sign_up()
    shopper.add(ctx.products(stack)[0], 1)
    return shopper


def split_at_first(shopper, probes, odd):
    """Kept counts on the other servers before and after the odd server first answered."""
    first = next((i for i, probe in enumerate(probes) if probe.server == odd), len(probes))
    others = [(i, probe) for i, probe in enumerate(probes) if probe.server != odd]
    before = [probe for i, probe in others if i < first]
    after = [probe for i, probe in others if i > first]
    return {
        "first_answer_of_odd_server": first + 1 if first < len(probes) else None,
        "others_before": [sum(map(shopper.kept, before)), len(before)],
        "others_after": [sum(map(shopper.kept, after)), len(after)],
    }


def secret_keys(ctx):
    """5. One server restarted with another key; then every server rotated, with and without fallbacks."""
    stack = ctx.stack
    if len(stack.servers) < 2:
        raise NotApplicable("needs at least two servers to give one of them another key")
    odd = stack.servers[1].name
    original = stack.env["SECRET_KEY"]
    mixed = shopper_with_cart(ctx, stack, "key-mixed")
    rotated = shopper_with_cart(ctx, stack, "key-fallback")

    ctx.progress(f"restarting {odd} with a different SECRET_KEY")
    stack.restart(odd, env={"SECRET_KEY": new_key()})
    probes = mixed.probes(ctx.probes)
    tally = mixed.tally(probes)
    by_server = {
        server.name: [
            sum(mixed.kept(p) for p in probes if p.server == server.name),
            sum(p.server == server.name for p in probes),
        ]
        for server in stack.servers
    }
    split = split_at_first(mixed, probes, odd)

    ctx.progress("rotating every server to a new SECRET_KEY with the old one in SECRET_KEY_FALLBACKS")
    rotated_key = new_key()
    stack.restart(env={"SECRET_KEY": rotated_key, "SECRET_KEY_FALLBACKS": original})
    with_fallbacks = rotated.tally(rotated.probes(max(6, ctx.probes // 2)))

    unfallen = shopper_with_cart(ctx, stack, "key-nofallback")
    ctx.progress("rotating every server to another SECRET_KEY without fallbacks")
    stack.restart(env={"SECRET_KEY": new_key(), "SECRET_KEY_FALLBACKS": ""})
    without = unfallen.tally(unfallen.probes(max(6, ctx.probes // 2)))

    others_before, others_after = split["others_before"], split["others_after"]
    line = (
        f"{odd} with another key: {tally.kept}/{tally.total} probes kept ("
        + ", ".join(f"{name} {kept}/{total}" for name, (kept, total) in by_server.items())
        + f"; other servers after {odd} first answered: {others_after[0]}/{others_after[1]}); "
        f"rotation with the old key as fallback: {with_fallbacks.kept}/{with_fallbacks.total} kept; "
        f"without: {without.kept}/{without.total} kept"
    )
    notes = [MISMATCH[ctx.profile].format(odd=odd)]
    if others_after[1] and others_after[0] == 0 and others_before[0] == others_before[1]:
        notes.append(f"Measured: after {odd} first answered, no other server recognised the shopper either.")
    elif others_after[1] and others_after[0] == others_after[1]:
        notes.append(f"Measured: only {odd}'s answers were anonymous; the other servers kept the session.")
    if with_fallbacks.kept == with_fallbacks.total:
        notes.append(
            "SECRET_KEY_FALLBACKS lets every server accept what the old key signed (session data, "
            "auth hashes, signed cookies) while signing with the new one: the rotation logged "
            "nobody out."
        )
    if without.kept == 0:
        notes.append(
            "Without the fallback, everything signed with the old key is refused: a rotation "
            "logs everyone out."
        )
    return Outcome(
        [
            Part(f"probes kept with {odd} on another SECRET_KEY", tally.kept, tally.total),
            Part(
                "probes kept after a rotation with SECRET_KEY_FALLBACKS",
                with_fallbacks.kept,
                with_fallbacks.total,
            ),
            Part("probes kept after a rotation without fallbacks", without.kept, without.total),
        ],
        line,
        " ".join(notes),
        {
            "odd_server": odd,
            "mixed": tally.as_json(),
            "mixed_by_server": by_server,
            **split,
            "mixed_probes": probe_log(probes),
            "with_fallbacks": with_fallbacks.as_json(),
            "without_fallbacks": without.as_json(),
        },
    )
