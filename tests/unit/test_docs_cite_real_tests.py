"""Every test the documents cite exists: a file named in README.md or docs/, and the test function when it is
named as file::test."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CITED = re.compile(r"(tests/[A-Za-z0-9_/]+\.py)(?:::([A-Za-z0-9_]+))?")


def test_every_test_file_and_test_the_documents_cite_exists():
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    missing = []
    cited = 0
    for document in documents:
        for path, name in CITED.findall(document.read_text(encoding="utf-8")):
            cited += 1
            source = ROOT / path
            if not source.is_file():
                missing.append(f"{document.name}: {path}")
            elif name and not re.search(rf"^(async )?def {name}\(", source.read_text(encoding="utf-8"), re.M):
                missing.append(f"{document.name}: {path}::{name}")
    assert cited >= 5
    assert not missing, missing
