"""The committed botocore SigV4 vectors are what botocore produces today.

Tests/RoostIntegrationsTests/Vectors/botocore-sigv4.json is what the Swift S3 tests compare
S3ObjectStore's requests with; it is written by make_botocore_vectors.py. This regenerates it
into a temporary file and fails when it differs, so the vectors cannot drift from botocore
(or be edited by hand).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[1] / "RoostIntegrationsTests" / "Vectors"
SCRIPT = VECTORS / "make_botocore_vectors.py"
COMMITTED = VECTORS / "botocore-sigv4.json"


def test_regenerated_vectors_equal_the_committed_ones(tmp_path: Path) -> None:
    output = tmp_path / "botocore-sigv4.json"
    subprocess.run([sys.executable, str(SCRIPT), str(output)], check=True, capture_output=True, text=True)
    regenerated = output.read_text(encoding="utf-8")
    committed = COMMITTED.read_text(encoding="utf-8")
    if regenerated != committed:
        new, old = json.loads(regenerated), json.loads(committed)
        changed = [case["name"] for case, before in zip(new["cases"], old["cases"]) if case != before]
        pytest.fail(
            f"botocore {new['botocore']} signs differently from the committed vectors "
            f"(botocore {old['botocore']}); changed cases: {changed or 'the case list'}. "
            f"Rerun {SCRIPT.name} and check the Swift S3 tests."
        )


def test_vectors_cover_both_addressing_styles_presigning_and_tokens() -> None:
    vectors = json.loads(COMMITTED.read_text(encoding="utf-8"))
    cases = vectors["cases"]
    assert len(cases) >= 12
    assert {case["config"]["addressing"] for case in cases} == {"path", "virtualHost"}
    assert any(case["operation"] == "PresignGetObject" and case["input"]["expires"] == 604800 for case in cases)
    assert any(case["config"]["sessionToken"] for case in cases)
    assert any("x-amz-content-sha256" in case["expected"].get("headers", {})
               and case["expected"]["headers"]["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD" for case in cases)
