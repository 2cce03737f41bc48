#!/usr/bin/env python
"""Compile locale/*/LC_MESSAGES/*.po into .mo with polib, so no GNU gettext is needed.

A .mo file is rewritten only when its bytes change, and then atomically (a temporary file moved
into place), so a test run reading the catalogues is never handed a half-written one (CI runs the
suite on both databases at the same time)."""

import os
import tempfile
from pathlib import Path

import polib

root = Path(__file__).resolve().parent.parent
for po_path in sorted((root / "locale").glob("*/LC_MESSAGES/*.po")):
    mo_path = po_path.with_suffix(".mo")
    with tempfile.NamedTemporaryFile(dir=mo_path.parent, suffix=".mo", delete=False) as tmp:
        polib.pofile(str(po_path)).save_as_mofile(tmp.name)
    if mo_path.exists() and mo_path.read_bytes() == Path(tmp.name).read_bytes():
        os.unlink(tmp.name)
        continue
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, mo_path)
    print(f"compiled {po_path.relative_to(root)}")
