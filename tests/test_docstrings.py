"""Every docstring example in the dualgrad package runs as written."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import dualgrad

# running these modules' code is what importing them does: the command line's entry point
NOT_IMPORTED = {"dualgrad.__main__"}


def _modules() -> list[str]:
    names = [dualgrad.__name__]
    for info in pkgutil.walk_packages(dualgrad.__path__, prefix="dualgrad."):
        if info.name not in NOT_IMPORTED:
            names.append(info.name)
    return sorted(names)


def _examples() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = {}
    for name in _modules():
        for test in finder.find(importlib.import_module(name)):
            # a name re-exported elsewhere is found once, in the module that defines it
            if test.examples and test.name.startswith(name):
                found[test.name] = test
    return sorted(found.values(), key=lambda t: t.name)


EXAMPLES = _examples()


def test_the_package_documents_itself_with_examples():
    """Docstring examples are found across the package (Model, Dense, the transformations,
    callbacks, testing, custom_jvp, ...): a finder that finds none must not pass."""
    names = {t.name.rsplit(".", 1)[-1] for t in EXAMPLES}
    assert {"Model", "Dense", "grad", "jvp", "EpochEnd", "check_grads", "custom_jvp"} <= names
    assert len(EXAMPLES) >= 17


@pytest.mark.parametrize("test", EXAMPLES, ids=[t.name for t in EXAMPLES])
def test_docstring_example_runs(test: doctest.DocTest) -> None:
    """The example runs and prints what its docstring says it prints."""
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    # on a copy of the module's namespace, which the runner clears afterwards
    runner.run(doctest.DocTest(test.examples, dict(test.globs), test.name, test.filename,
                               test.lineno, test.docstring), out=report.append)
    assert runner.failures == 0, "".join(report)
