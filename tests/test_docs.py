"""The documentation against the code and the rules: guards against drift.

Stage: none (documentation). In: ``README.md``, ``docs/*.md``, the bundled rulebook,
the click command tree, ``findings.CATALOGUE``, ``setup.cfg``, the ``Makefile`` and
the bundled sample. Out: a failure naming what a page says that is no longer true.

What is checked:

* the README's first 20 lines hold the set-up commands (``make demo``, ``make test``);
* every CLI command is in the README, and every ``reconcile ...`` command line shown
  in a shell block of the README or ``docs/*.md`` parses with the real CLI (options
  exist, values are valid), and every ``make`` target named exists;
* every rule id of ``rules/eligibility.yaml``, every rules file and every fact field
  is in ``docs/rules.md``; every finding code (program and rule) is in
  ``docs/guide-finance.md``;
* every relative link and image in ``README.md`` and ``docs/*.md`` points at a file
  that exists, and every ``#anchor`` at a heading that exists; every repository path
  quoted in inline code exists;
* every dependency in ``setup.cfg`` is in the README's "Libraries and why";
* the four demo findings the README quotes are what the bundled sample produces.

Example: rename a rule in ``rules/eligibility.yaml`` and
``test_every_eligibility_rule_is_explained`` fails naming it.
"""

from __future__ import annotations

import configparser
import datetime as dt
import re
import shlex
from pathlib import Path

import click
import pytest

from reconcile.cli import main
from reconcile.findings import CATALOGUE
from reconcile.rulebook.vocabulary import fact_vocabulary
from reconcile.rulebook.load import load_rulebook

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
RULES_MD = ROOT / "docs" / "rules.md"
GUIDE_MD = ROOT / "docs" / "guide-finance.md"

FENCE = re.compile(r"^```[^\n]*\n.*?^```[ \t]*$", re.DOTALL | re.MULTILINE)
SHELL_BLOCK = re.compile(r"^```(?:sh|bash|shell|console)[ \t]*\n(.*?)^```",
                         re.DOTALL | re.MULTILINE)
LINK = re.compile(r"!?\[(?:[^\]]|\][^(])*?\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
REPO_PATH = re.compile(
    r"^(?:reconcile|tests|rules|docs|tools|bench|samples|templates|\.ci)/[\w./-]*$")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _prose(text: str) -> str:
    """The page without its fenced code blocks (no links or headings in code)."""
    return FENCE.sub("", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(text: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for match in re.finditer(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", _prose(text), re.MULTILINE):
        slug = _slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    found.update(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", text))
    return found


def _links(path: Path) -> list[str]:
    return LINK.findall(_prose(_text(path)))


def _command_lines(text: str) -> list[list[str]]:
    """Every ``reconcile ...`` command of the page's shell blocks, as argument lists."""
    commands = []
    for block in SHELL_BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            if not line.startswith("reconcile "):
                continue
            words = shlex.split(line, comments=True)
            if "|" in words:
                words = words[:words.index("|")]
            commands.append(words[1:])
    return commands


def _leaf_commands(group: click.Group, prefix: str = "reconcile") -> list[str]:
    names = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            names.extend(_leaf_commands(command, f"{prefix} {name}"))
        else:
            names.append(f"{prefix} {name}")
    return names


# ------------------------------------------------------------------------ the README


def test_readme_starts_with_the_setup_commands():
    first = "\n".join(_text(README).splitlines()[:20])
    assert "make demo" in first
    assert "make test" in first


def test_every_cli_command_is_in_the_readme():
    text = _text(README)
    commands = _leaf_commands(main)
    # the command tree this page was written for: a new command needs documenting
    assert {"reconcile run", "reconcile expected", "reconcile split", "reconcile explain",
            "reconcile rules check", "reconcile rules show", "reconcile template",
            "reconcile demo"} <= set(commands)
    missing = [c for c in commands if c not in text]
    assert not missing, f"README.md does not show: {missing}"


COMMAND_LINES = [(page.relative_to(ROOT).as_posix(), words)
                 for page in PAGES for words in _command_lines(_text(page))]


def test_the_pages_show_command_lines():
    assert len([1 for page, _ in COMMAND_LINES if page == "README.md"]) >= 12


@pytest.mark.parametrize(("page", "words"), COMMAND_LINES,
                         ids=[f"{p}:{' '.join(w[:2])}" for p, w in COMMAND_LINES])
def test_every_command_line_shown_parses(page, words):
    args = list(words)
    command: click.Command = main
    context = click.Context(main, info_name="reconcile")
    name = "reconcile"
    while isinstance(command, click.Group):
        assert args, f"{page}: 'reconcile {' '.join(words)}' names no command"
        name = args.pop(0)
        sub = command.get_command(context, name)
        assert sub is not None, f"{page}: no command {name!r} in 'reconcile {' '.join(words)}'"
        if isinstance(sub, click.Group):
            context = click.Context(sub, info_name=name, parent=context)
        command = sub
    try:
        command.make_context(name, args, parent=context)
    except click.exceptions.Exit as stop:
        assert stop.exit_code == 0
    except click.UsageError as error:
        pytest.fail(f"{page}: 'reconcile {' '.join(words)}': {error.format_message()}")


def test_every_make_target_named_exists():
    targets = set(re.findall(r"^([\w-]+):", _text(ROOT / "Makefile"), re.MULTILINE))
    for page in PAGES:
        code = INLINE_CODE.findall(_text(page)) + SHELL_BLOCK.findall(_text(page))
        named = {m for chunk in code
                 for m in re.findall(r"^\s*make ([a-z][\w-]*)", chunk, re.MULTILINE)}
        missing = named - targets
        assert not missing, f"{page.name} names make targets the Makefile lacks: {missing}"


def test_every_dependency_is_in_libraries_and_why():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    lines = (config["options"]["install_requires"] + "\n"
             + config["options.extras_require"]["test"]).splitlines()
    names = {re.match(r"[A-Za-z0-9_.-]+", line.strip()).group(0).lower()
             for line in lines if line.strip() and not line.strip().startswith("#")}
    assert {"click", "pydantic", "pyyaml", "durable-rules", "python-calamine"} <= names
    text = _text(README)
    section = text[text.index("## Libraries and why"):].lower()
    missing = sorted(n for n in names if n not in section)
    assert not missing, f"README 'Libraries and why' lacks: {missing}"


# ------------------------------------------------------------------------ the rules


@pytest.fixture(scope="module")
def rulebook():
    return load_rulebook()


def test_every_eligibility_rule_is_explained(rulebook):
    text = _text(RULES_MD)
    ids = [rule.id for rule in rulebook.rules]
    assert "billable" in ids and "duplicate" in ids
    missing = [i for i in ids if f"`{i}`" not in text]
    assert not missing, f"docs/rules.md does not explain the rules: {missing}"


def test_every_rules_file_is_explained():
    text = _text(RULES_MD)
    files = sorted(p.name for p in (ROOT / "rules").glob("*.yaml"))
    assert "eligibility.yaml" in files
    missing = [f for f in files if f"## {f}" not in text]
    assert not missing, f"docs/rules.md has no section for: {missing}"


def test_every_fact_field_is_explained():
    text = _text(RULES_MD)
    fields = list(fact_vocabulary(None))
    assert "window_position" in fields
    missing = [f for f in fields if f"`{f}`" not in text]
    assert not missing, f"docs/rules.md does not explain the facts: {missing}"


def test_every_finding_code_is_explained(rulebook):
    text = _text(GUIDE_MD)
    codes = list(CATALOGUE) + [rule.then.code for rule in rulebook.rules
                               if hasattr(rule.then, "code")]
    assert "DECL_DUPLICATE" in codes and "OUTPUT_COUNT_MISMATCH" in codes
    missing = [c for c in dict.fromkeys(codes) if f"`{c}`" not in text]
    assert not missing, f"docs/guide-finance.md does not explain: {missing}"


# ------------------------------------------------------------------------ links


def test_every_relative_link_and_image_exists():
    broken = []
    for page in PAGES:
        for target in _links(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            path_part, _, anchor = target.partition("#")
            file = (page.parent / path_part).resolve() if path_part else page
            if not file.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in _anchors(_text(file)):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_readme_links_the_summary_picture_and_the_other_pages():
    targets = _links(README)
    for target in ("docs/summary.png", "docs/rules.md", "docs/guide-finance.md",
                   "docs/split-example.md", "docs/architecture.md", "docs/performance.md"):
        assert target in targets, target
    assert re.search(r"!\[[^\]]+\]\(docs/summary\.png\)", _text(README))


def test_every_repository_path_quoted_exists():
    missing = []
    for page in PAGES:
        for code in INLINE_CODE.findall(_prose(_text(page))):
            path = code.split("::")[0].rstrip("/")
            if not REPO_PATH.match(code.split("::")[0]) or any(c in path for c in "*<{"):
                continue
            if not (ROOT / path).exists():
                missing.append(f"{page.relative_to(ROOT)}: {code}")
    assert not missing, "paths that do not exist:\n" + "\n".join(missing)


def test_the_link_checker_finds_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\nSee [here](missing.md) and [there](#title) and "
                    "[nowhere](#nothing).\n\n```sh\n[not a link](x.md)\n```\n", encoding="utf-8")
    assert _links(page) == ["missing.md", "#title", "#nothing"]
    assert _anchors(_text(page)) == {"title"}
    assert _slug("split.yaml: paying delivery partners") == "splityaml-paying-delivery-partners"
    assert _slug("Options: `--engine`") == "options---engine"


# ------------------------------------------------------------------------ the examples


def test_the_demo_findings_quoted_in_the_readme_are_real():
    from reconcile.pipeline import RunOptions, run

    samples = ROOT / "samples"
    result = run(RunOptions(declarations=samples / "declarations.xlsx",
                            dfe_statements=samples / "dfe-statements-planted.xlsx",
                            contracts=(samples / "contracts",), as_of=dt.date(2026, 10, 10)))

    def one(code, **where):
        found = [f for f in result.findings if f.code == code
                 and all(getattr(f, k) == v for k, v in where.items())]
        assert len(found) == 1, (code, where, found)
        return found[0]

    text = _text(README)
    count = one("OUTPUT_COUNT_MISMATCH", lead_provider="Harbour Lane Education Trust",
                cohort=2024, statement="October 2025")
    assert (count.line, count.expected, count.actual, count.difference) == (
        "output ect retained-2 band C", 3, 2, "-1")
    assert "we expect 3 (-£97.20 on the line)" in count.message
    hidden = one("HIDDEN_RECONCILE_AMOUNT", lead_provider="Northbrook Teaching Institute",
                 cohort=2022, statement="June 2023")
    assert hidden.difference == "-312.45"
    assert "£3,985.07" in hidden.message and "£4,297.52" in hidden.message
    late = one("DECL_AFTER_MILESTONE_CUTOFF",
               declaration_id="24921cbd-208e-40e4-9df8-6799e8ee2e9c")
    assert (late.statement, late.cohort) == ("April 2024", 2023)
    assert "dated 2024-01-28" in late.message and "ended on 2023-12-31" in late.message
    over = one("CALC_OVER_CAPACITY", lead_provider="Harbour Lane Education Trust",
               cohort=2024, statement="April 2025")
    assert over.message.startswith("5 started declaration(s) on April 2025")
    for quoted in ("we expect 3 (-£97.20 on the line)", "£3,985.07", "£4,297.52", "-£312.45",
                   "24921cbd-208e-40e4-9df8-6799e8ee2e9c", "2024-01-28", "2023-12-31",
                   "5 started declaration(s) on April 2025"):
        assert quoted in text, quoted


#: documents that are not in the repository (the project's planning notes): a comment
#: cites DfE's public sources or docs/ instead
_OUTSIDE = re.compile(r"DOMAIN\.md|INTERFACES(\.md)?\s*§|user-needs|research/|seed 0\d\d|"
                      r"the brief|guide §")


def test_comments_cite_only_what_the_repository_has():
    cited = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in sorted((ROOT / "reconcile").rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if _OUTSIDE.search(line)]
    assert cited == []
    # and what they cite instead is there
    assert (ROOT / "docs" / "domain.md").is_file()
    assert "docs/domain.md" in _text(README)


def test_every_section_of_docs_domain_cited_exists():
    headings = {line[3:].strip() for line in (ROOT / "docs" / "domain.md").read_text(
        encoding="utf-8").splitlines() if line.startswith("## ")}
    cited = {(path.name, name) for path in (ROOT / "reconcile").rglob("*.py")
             for name in re.findall(r'docs/domain\.md "([^"]+)"', path.read_text("utf-8"))}
    assert cited, "the code cites docs/domain.md by section"
    assert {(file, name) for file, name in cited if name not in headings} == set()
