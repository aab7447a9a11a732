"""bench.history on the small real details document: the store, the time per publication and the renderer's
event views it reports (a measuring tool must measure something)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench import history

FIXTURES = Path(__file__).parent / "fixtures"


def test_history_bench_reports_the_store_and_the_views_a_restarted_renderer_holds(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURES / "onionoo_details_small.json", data / "details.json")
    assert history.main(["--data", str(data), "--publications", "30", "--churn", "0.2",
                         "--work", str(tmp_path / "work")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["publications"] == 30 and result["events"] > 0 and result["store_bytes"] > 0
    views = result["views"]
    # every stored event is in its relay's list (fewer than RECENT per relay here), and is one view
    assert views["events_listed"]["fp"] == result["events"] == views["views"]
    assert views["mb"] > 0
    assert history.main(["--data", str(data), "--work", str(tmp_path / "work"), "--views-only"]) == 0
    again = json.loads(capsys.readouterr().out)["views"]
    assert again["events_listed"] == views["events_listed"] and again["views"] == views["views"]
