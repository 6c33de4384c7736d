#!/usr/bin/env python3
"""Every relative link in README.md and docs/*.md names a file of the tree, and its #anchor a heading of
that file (GitHub's anchors); the README's docs index links every page in docs/. Prints each broken link
and fails; prints a summary and passes otherwise.
    tests/ops/doc_links.py SOURCE_DIR
"""
import re
import sys
from pathlib import Path

# Pages a link may name before they exist (none now): absent, they are allowed; present, checked like any.
PENDING = set()

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def prose(text):
    """The text outside code blocks and code spans, where a link is a link."""
    text = FENCE.sub("", text)
    text = "\n".join(line for line in text.splitlines() if not line.startswith("    "))
    return CODE_SPAN.sub("", text)


def anchors(text):
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces to '-', repeats -N."""
    seen, result = {}, set()
    for title in HEADING.findall(FENCE.sub("", text)):
        slug = re.sub(r"[^\w\- ]", "", title.replace("`", "").lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        result.add(slug if n == 0 else f"{slug}-{n}")
    return result


def check(root):
    problems, checked = [], 0
    pages = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
    for page in pages:
        for target in LINK.findall(prose(page.read_text(encoding="utf-8"))):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, file:
                continue
            checked += 1
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(root)}: ({target})"
            if not file.is_file():
                rel = file.relative_to(root.resolve()) if file.is_relative_to(root.resolve()) else file
                if str(rel) not in PENDING:
                    problems.append(f"{where}: no file {rel}")
                continue
            if anchor and file.suffix == ".md" and anchor not in anchors(file.read_text(encoding="utf-8")):
                problems.append(f"{where}: no heading with the anchor #{anchor} in {file.relative_to(root.resolve())}")
    readme_links = {t.partition("#")[0] for t in LINK.findall(prose((root / "README.md").read_text(encoding="utf-8")))}
    for page in sorted((root / "docs").glob("*.md")):
        if f"docs/{page.name}" not in readme_links:
            problems.append(f"README.md: the docs index does not link docs/{page.name}")
    return problems, checked, len(pages)


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    problems, checked, pages = check(root)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    absent = sorted(p for p in PENDING if not (root / p).is_file())
    print(f"doc links: {checked} links in {pages} pages resolve" +
          (f"; not in the tree yet (pending): {', '.join(absent)}" if absent else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
