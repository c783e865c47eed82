"""Mark a session's mutants inside type annotations as skipped.

Every module of dualgrad starts with ``from __future__ import annotations``, so annotations are
strings that nothing evaluates at run time: a mutant of ``str | None`` in a signature is
equivalent by construction (``str & None`` is never computed). A module without that import is
left alone.

    python mutation/skip_annotations.py SESSION.sqlite mutation/PART.toml
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from cosmic_ray.config import load_config
from cosmic_ray.work_db import use_db
from cosmic_ray.work_item import WorkerOutcome, WorkResult

Span = tuple[tuple[int, int], tuple[int, int]]


def annotation_spans(source: str) -> list[Span]:
    """The (row, column) spans of every annotation in `source`, if annotations are lazy."""
    tree = ast.parse(source)
    lazy = any(isinstance(node, ast.ImportFrom) and node.module == "__future__"
               and any(alias.name == "annotations" for alias in node.names)
               for node in tree.body)
    if not lazy:
        return []
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            found.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
    return [((a.lineno, a.col_offset), (a.end_lineno or a.lineno, a.end_col_offset or 0))
            for a in found]


def main(session: str, config_path: str) -> int:
    config = load_config(config_path)
    root = Path(config["module-path"])
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))
    spans = {str(f): annotation_spans(f.read_text()) for f in files}
    skipped = 0
    with use_db(session) as db:
        for item in list(db.pending_work_items):
            for mutation in item.mutations:
                start = tuple(mutation.start_pos)
                if any(a <= start < b for a, b in spans.get(str(mutation.module_path), ())):
                    db.set_result(item.job_id, WorkResult(
                        output="inside a type annotation, which is never evaluated",
                        worker_outcome=WorkerOutcome.SKIPPED))
                    skipped += 1
                    break
    print(f"skipped {skipped} mutants inside type annotations")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
