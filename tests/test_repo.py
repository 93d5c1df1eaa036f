"""Checks on the repository itself: CI runs what the README tells users to run."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_COMMAND = 'pip install torch==2.13.0 -e ".[test]" && python -m pytest -q'


def test_ci_runs_the_readme_test_command_verbatim():
    readme = open(os.path.join(ROOT, "README.md")).read()
    ci = open(os.path.join(ROOT, ".ci", "run")).read()
    assert TEST_COMMAND in readme.splitlines()
    assert TEST_COMMAND in ci.splitlines()
