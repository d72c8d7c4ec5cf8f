"""The docs a newcomer walks (README.md and docs/) name only things that exist.

- every relative link (a file, a folder, or a ``#anchor`` of a Markdown page, slugged as GitHub does)
  reaches its target;
- every ``make <target>`` in their code (inline or fenced) is a target of the Makefile, and every target
  with a help text is in docs/make-targets.md;
- every repository path in inline code (its first segment one of the repository's top-level folders,
  ``<placeholders>`` matching any name) exists;
- every ``python -m <module>`` names a module of the repository that runs (a package needs its
  ``__main__``) or one the venv can import, and every ``python <script>.py`` an existing script;
- docs/layout.md's tree names only files and folders that exist;
- the README stays short, and docs/README.md links every page.

Read from the files alone: nothing runs, so the module takes well under a second.
"""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 400
# Generated or installed folders: never part of what the docs describe.
UNTRACKED = {
    ".git",
    ".venv",
    "node_modules",
    "cdk.out",
    ".cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
}

# Fences may be indented (inside a list item).
FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
# Inline code may wrap across lines, so \s: a span "`python -m\nmlkit.plan`" is one command.
MAKE = re.compile(r"\bmake\s+([a-z][a-z0-9-]*)")
# In a fenced block, a command starts its line (or follows && ; |): "services make as" in output is none.
MAKE_COMMAND = re.compile(r"(?:^|&&|;|\|)[ \t]*(?:\$[ \t]+)?make[ \t]+([a-z][a-z0-9-]*)", re.MULTILINE)
PYTHON_MODULE = re.compile(r"\bpython3?\s+-m\s+([A-Za-z_][\w.]*)")
PYTHON_SCRIPT = re.compile(r"\bpython3?\s+([\w./-]+\.py)\b")
MAKE_TARGET = re.compile(r"^([a-z][a-z0-9-]*)[ \t]*:(?!=)(.*)$", re.MULTILINE)
PLACEHOLDER = re.compile(r"<[^<>/]*>|\$\([^)]*\)|\$\{[^}]*\}|\$[A-Z_]+")


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def split_code(text: str) -> tuple[str, list[str], list[str]]:
    """(the prose, with code removed; the fenced blocks; the inline code spans)."""
    fences = [match.group(0) for match in FENCE.finditer(text)]
    rest = FENCE.sub("\n", text)
    spans = [match.group(2).strip() for match in INLINE_CODE.finditer(rest)]
    return INLINE_CODE.sub(" ", rest), fences, spans


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text, lower-case, without punctuation, spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor of a Markdown page; repeated headings get -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("\n", path.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def broken_links(page: Path) -> list[str]:
    prose, _, _ = split_code(page.read_text())
    problems = []
    for target in LINK.findall(prose):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not in the repository
            continue
        file_part, _, anchor = target.partition("#")
        path = (page.parent / file_part).resolve() if file_part else page
        if not path.exists():
            problems.append(f"{target}: no such file or folder")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            problems.append(f"{target}: {shown(path)} has no heading with anchor #{anchor}")
    return problems


def makefile_targets() -> dict[str, str]:
    """{target: its help text (after ``##``), or ""} of the Makefile."""
    return {
        name: rest.split("##", 1)[1].strip() if "##" in rest else ""
        for name, rest in MAKE_TARGET.findall((ROOT / "Makefile").read_text())
    }


def code_of(page: Path) -> list[str]:
    _, fences, spans = split_code(page.read_text())
    return [*fences, *spans]


def missing_make_targets(page: Path) -> list[str]:
    targets = makefile_targets()
    _, fences, spans = split_code(page.read_text())
    named = {target for fence in fences for target in MAKE_COMMAND.findall(fence)}
    named |= {target for span in spans for target in MAKE.findall(span)}
    return sorted(f"make {target}" for target in named - set(targets))


def top_level_folders() -> set[str]:
    return {path.name for path in ROOT.iterdir() if path.is_dir() and path.name not in UNTRACKED}


def expand_braces(token: str) -> list[str]:
    """``a/{b,c}.py`` -> ``a/b.py``, ``a/c.py`` (as a shell writes several files of one folder)."""
    match = re.search(r"\{([^{}]*,[^{}]*)\}", token)
    if not match:
        return [token]
    head, tail = token[: match.start()], token[match.end() :]
    return [expanded for part in match.group(1).split(",") for expanded in expand_braces(head + part + tail)]


def repository_paths(span: str, folders: set[str]) -> list[str]:
    """The tokens of an inline code span that name a path of the repository (``stacks/stage.py``)."""
    found = []
    for token in re.split(r"[\s;()'\"=]+|,(?![^{]*\})\s*", span):  # a comma in {a,b} stays
        token = token.split("::", 1)[0].rstrip(".:")
        first = token.split("/", 1)[0]
        if "/" in token and first in folders:
            found.extend(expand_braces(token))
    return found


def exists(path: str) -> bool:
    """Whether ``path`` exists; ``<name>``, ``$(VAR)`` and a ``...`` segment match any name."""
    pattern = PLACEHOLDER.sub("*", path).rstrip("/")
    pattern = "/".join("**" if part == "..." else part for part in pattern.split("/"))
    if not any(character in pattern for character in "*?["):
        return (ROOT / pattern).exists()
    return next(iter(ROOT.glob(pattern)), None) is not None


def missing_paths(page: Path) -> list[str]:
    folders = top_level_folders()
    _, _, spans = split_code(page.read_text())
    named = {path for span in spans for path in repository_paths(span, folders)}
    return sorted(path for path in named if not exists(path))


def module_problem(module: str) -> str | None:
    """Why ``python -m module`` cannot run from the repository root, or None."""
    parts = module.split(".")
    if (ROOT / parts[0]).is_dir() and parts[0] not in UNTRACKED:
        base = ROOT.joinpath(*parts)
        if base.with_suffix(".py").is_file() or (base / "__main__.py").is_file():
            return None
        if (base / "__init__.py").is_file():
            return f"{module} is a package without __main__.py"
        return f"{module} is no module of the repository"
    if importlib.util.find_spec(parts[0]) is None:
        return f"{module} is neither in the repository nor installed"
    return None


def missing_commands(page: Path) -> list[str]:
    problems = []
    for code in code_of(page):
        problems += [problem for module in PYTHON_MODULE.findall(code) if (problem := module_problem(module))]
        problems += [
            f"{script}: no such script" for script in PYTHON_SCRIPT.findall(code) if not exists(script)
        ]
    return sorted(set(problems))


# What a page may name, and what finds the names that do not exist.
CHECKS = {
    "relative links and headings": broken_links,
    "make targets": missing_make_targets,
    "repository paths": missing_paths,
    "python modules and scripts": missing_commands,
}


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("page", pages(), ids=shown)
def test_every_page_names_only_what_exists(page, check):
    assert CHECKS[check](page) == []


def tree_entries(tree: str) -> list[str]:
    """The paths a layout tree names: a line at column 0 names top-level entries, one at column 2 entries of
    the folder above it. A line's names come first, comma-separated; its description starts after two
    spaces or more, or at the first word that is no file (``name.ext``) or folder (``name/``)."""
    entries, folder = [], ""
    for line in tree.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if indent not in (0, 2) or not line.strip() or line.startswith("`"):
            continue
        names = re.split(r",\s*", re.split(r"\s{2,}", line.strip())[0])
        for name in names:
            if not re.fullmatch(r"[\w<>.][\w<>.-]*(/|\.\w+)", name):
                break
            entries.append(name if indent == 0 else folder + name)
        if indent == 0:
            folder = line.split()[0]
    return entries


def test_every_documented_target_of_the_makefile_is_in_the_targets_page():
    """The reverse of the make check: a target with a help text (``##``) has its row."""
    table = (ROOT / "docs" / "make-targets.md").read_text()
    first_cells = re.findall(r"^\|([^|]*)\|", table, re.MULTILINE)
    listed = {span.split()[0] for cell in first_cells for span in re.findall(r"`([^`]+)`", cell)}
    helped = {target for target, text in makefile_targets().items() if text}
    assert sorted(helped - listed) == []


def test_the_layout_tree_names_what_exists():
    (tree,) = split_code((ROOT / "docs" / "layout.md").read_text())[1]
    entries = tree_entries(tree)
    assert "sources/base.py" in entries and "stacks/model_stack.py" in entries  # the parse reads the tree
    assert [entry for entry in entries if not exists(entry)] == []


def test_the_readme_fits_on_a_few_screens():
    lines = len((ROOT / "README.md").read_text().splitlines())
    assert lines < README_MAX_LINES, f"README.md has {lines} lines: move detail to docs/"


def test_the_docs_index_links_every_page():
    index = ROOT / "docs" / "README.md"
    prose, _, _ = split_code(index.read_text())
    linked = {(index.parent / target.partition("#")[0]).resolve() for target in LINK.findall(prose)}
    assert [shown(page) for page in pages()[1:] if page != index and page not in linked] == []


# The checks themselves, on pages written for them: each finds what it is for.


def test_the_checks_find_a_broken_link_a_missing_target_path_and_module(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# A title\n\n## Twice\n\n## Twice\n\n"
        "[ok](#a-title) [ok](#twice-1) [bad anchor](#nope) [bad file](missing.md) [web](https://example.com)\n\n"
        "`make local` `make nonesuch` `stacks/stage.py` `stacks/nonesuch.py` `sources/<name>/local.py`\n"
        "`sources/training/{config,nonesuch}.py` `text/csv` `owner/name`\n\n"
        "```bash\n.venv/bin/python -m mlkit.plan\npython -m mlkit.nonesuch\npython -m sources.jumpstart\n"
        "python benchmarks/nonesuch.py\n```\n\n"
        "1. a step:\n\n   ```\n   make boostrap ENV=dev\n   the calls AWS services make as these roles\n"
        "   ```\n"
    )
    assert broken_links(page) == [
        "#nope: page.md has no heading with anchor #nope",
        "missing.md: no such file or folder",
    ]
    assert missing_make_targets(page) == ["make boostrap", "make nonesuch"]
    assert missing_paths(page) == ["sources/training/nonesuch.py", "stacks/nonesuch.py"]
    assert missing_commands(page) == [
        "benchmarks/nonesuch.py: no such script",
        "mlkit.nonesuch is no module of the repository",
        "sources.jumpstart is a package without __main__.py",
    ]


def test_a_layout_tree_names_files_and_folders_not_their_descriptions():
    tree = (
        "stacks/         the CDK side, names.py\n  stage.py        MlKitStage\n  a.py, b/   two\n  Word  no\n"
    )
    assert tree_entries(tree) == ["stacks/", "stacks/stage.py", "stacks/a.py", "stacks/b/"]


def test_slugs_follow_github():
    assert (
        slug("Deploying a catalogue: concurrency and `make plan`")
        == "deploying-a-catalogue-concurrency-and-make-plan"
    )
    assert (
        slug("Hugging Face hub models (`source: huggingface`)")
        == "hugging-face-hub-models-source-huggingface"
    )
    assert slug("Would AWS accept it? What `make test` holds the templates to") == (
        "would-aws-accept-it-what-make-test-holds-the-templates-to"
    )


def test_a_module_runs_from_the_repository_or_the_venv():
    assert module_problem("mlkit.acceptance") is None  # a package with __main__.py
    assert module_problem("mlkit.plan") is None
    assert module_problem("pytest") is None  # installed
    assert module_problem("pytset") == "pytset is neither in the repository nor installed"
