"""The soak's report on a hand-made history: the timeline draws every request, fault and loss, the
page has no script, and the files land where /lab/soak/ reads them."""

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command

from tools.soak.checker import check
from tools.soak.history import FORMAT
from tools.soak.report import LATEST_HTML, render_html, summary, write
from tools.tests.test_soak_checker import ALICE, Script, order


def history_with_a_loss():
    script = Script()
    script.signup()
    script.add(7)
    script.add(8, status=None)
    script.op("cart", "GET", "/cart/", 503, retry_after="5")
    script.cart({8: 1})  # the acknowledged add of 7 is gone
    script.checkout(order=41)
    script.op("orders", "GET", "/accounts/orders/", 200, user=ALICE, orders=[41])
    fault = {"kind": "kill_server", "target": "server2", "start": 0.15, "end": 0.15, "healed": 0.35}
    history = script.history(initial_stock={"8": 5}, faults=[fault | {"ok": True, "note": "SIGKILL"}])
    history |= {
        "format": FORMAT,
        "started": "2025-01-01T10:00:00+00:00",
        "seed": 3,
        "command": "python manage.py soak --seed 3",
    }
    history |= {"setup": {"shoppers": 1, "servers": 2, "workers": 2, "db": "sqlite", "redis": "single"}}
    database = {"orders": [order(41, {8: 1})], "stock": {"8": 4}}
    return history, database, check(history, database)


def test_the_page_draws_every_request_fault_and_loss_without_script():
    history, database, verdicts = history_with_a_loss()
    page = render_html(history, database, verdicts)
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert len(re.findall(r"<rect [^>]*><title>#\d+ ", svg)) == len(history["ops"])
    assert "kill_server server2 at 0.1 s: SIGKILL" in svg
    assert svg.count('fill="#c0392b"/>') == 1  # the one loss, a red triangle
    assert "product 7 showed 0, expected 1" in svg
    assert "The checker found losses" in page and "<script" not in page
    for verdict in verdicts:
        assert verdict.line in page


def test_the_console_text_names_what_was_lost():
    history, database, verdicts = history_with_a_loss()
    text, lost = summary(history, database, verdicts)
    assert lost == "acknowledged cart changes lost: 1 of 1 acknowledged cart changes lost"
    assert "FAIL  acknowledged cart changes lost" in text
    assert "kill_server" in text and "1 orders confirmed, 1 in the database" in text


def test_the_files_are_the_json_the_html_and_the_latest_copies(tmp_path):
    history, database, verdicts = history_with_a_loss()
    paths = write(history, database, verdicts, tmp_path)
    assert paths["json"].name == "soak-20250101-100000.json"
    document = json.loads(paths["json"].read_text())
    assert document["ops"] == history["ops"] and document["database"] == database
    assert [v["key"] for v in document["verdicts"]] == [v.key for v in verdicts]
    assert (tmp_path / LATEST_HTML).read_text() == paths["html"].read_text()
    assert (tmp_path / "soak-latest.json").read_text() == paths["json"].read_text()


def test_the_checker_runs_again_over_a_soaks_json(tmp_path):
    history, database, verdicts = history_with_a_loss()
    paths = write(history, database, verdicts, tmp_path)
    out = io.StringIO()
    with pytest.raises(CommandError, match="acknowledged cart changes lost: 1 of 1") as failed:
        call_command("soak", "--check", paths["json"], stdout=out)
    assert failed.value.returncode == 1
    assert out.getvalue().startswith("python manage.py soak --seed 3\nFAIL  acknowledged cart changes lost")
    (tmp_path / "other.json").write_text('{"format": "sessionlab"}')
    with pytest.raises(CommandError, match="is not a soak's JSON"):
        call_command("soak", "--check", tmp_path / "other.json")
