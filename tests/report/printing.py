"""A workbook as LibreOffice prints it: PDF, pages per sheet, pictures of pages.

Every sheet's footer starts with the sheet's name and "Page n"
(:func:`reconcile.write._print_setup`), so the PDF's text says which sheet each page
belongs to. LibreOffice (``soffice``) and poppler (``pdftotext``, ``pdftoppm``) come
from ``make system`` (``tools/system-packages.txt``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

FOOTER = re.compile(r"^\s*(?P<sheet>\S.*?)\s{2,}Page (?P<page>\d+)(\s|$)")


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed: run make system (as root or with sudo)")
    return path


def to_pdf(xlsx: Path, out_dir: Path, profile: Path) -> Path:
    """``soffice --headless --convert-to pdf`` with a profile of its own."""
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(profile)}
    subprocess.run([tool("soffice"), f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--norestore", "--convert-to", "pdf", "--outdir", str(out_dir), str(xlsx)],
                   check=True, capture_output=True, timeout=600, env=env)
    pdf = out_dir / (xlsx.stem + ".pdf")
    if not pdf.exists():
        raise RuntimeError(f"LibreOffice wrote no PDF for {xlsx}")
    return pdf


def page_sheets(pdf: Path) -> list[str]:
    """The sheet each page of ``pdf`` prints, from its footer (in page order)."""
    text = subprocess.run([tool("pdftotext"), "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True, timeout=300).stdout
    sheets = []
    for number, page in enumerate(text.split("\f")[:-1], start=1):
        found = None
        for line in reversed(page.splitlines()):
            match = FOOTER.match(line)
            if match:
                found = match.group("sheet").strip()
                break
        if found is None:
            raise AssertionError(f"page {number} of {pdf} has no footer naming its sheet")
        sheets.append(found)
    return sheets


def pages_per_sheet(pdf: Path) -> Counter:
    return Counter(page_sheets(pdf))


def page_picture(pdf: Path, page: int, out: Path, resolution: int = 80) -> Path:
    """Page ``page`` (1-based) of ``pdf`` as a PNG."""
    stem = out.with_suffix("")
    subprocess.run([tool("pdftoppm"), "-r", str(resolution), "-f", str(page), "-l", str(page),
                    "-png", "-singlefile", str(pdf), str(stem)], check=True, timeout=120)
    return stem.with_suffix(".png")
