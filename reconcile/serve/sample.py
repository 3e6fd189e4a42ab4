"""The "Try the sample" button: the bundled sample, given to a run as if uploaded.

Stage: entry point. In: the bundled sample (``reconcile demo``'s files:
``declarations.xlsx``, ``dfe-statements-planted.xlsx``, ``contracts/*.yaml`` and the
date it is "as at" from ``planted.json``). Out: copies in an upload folder, as
:class:`~reconcile.serve.uploads.UploadedFile` records, and the as-of date: the run
is what ``reconcile run`` gives in a folder holding the same files.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from reconcile.serve.uploads import UploadedFile


def sample_files(folder: Path) -> tuple[list[UploadedFile], dt.date]:
    from reconcile.demo import (
        CONTRACTS,
        DECLARATIONS,
        DFE_STATEMENTS,
        MANIFEST,
        read_manifest,
        samples_dir,
    )

    sample = samples_dir()
    as_of = dt.date.fromisoformat(read_manifest(sample / MANIFEST)["generator"]["as_of"])
    sources = [("declarations", sample / DECLARATIONS),
               ("dfe_statements", sample / DFE_STATEMENTS)]
    sources += [("contracts", path) for path in sorted((sample / CONTRACTS).glob("*.yaml"))]
    files = []
    for n, (field, source) in enumerate(sources, 1):
        target = folder / f"{n:04d}"
        shutil.copyfile(source, target)
        files.append(UploadedFile(field, source.name, target, target.stat().st_size))
    return files, as_of
