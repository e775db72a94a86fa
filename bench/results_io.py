"""Where the benchmarks and chaos scripts keep what they measured.

A results file (bench/results/<name>.json, committed; README.md and bench/RELIABILITY.md cite them)
holds what the tables are made of: the run's settings and its summary rows. The raw records of a
run (the per-run "details", the chaos-data JSON-lines histories) go to the runs/ folder next to it
(bench/results/runs/, ignored by git), so measuring does not grow the repository; the results file
names its details file, and load() puts the details back when they are still there.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS_DIR = os.path.join(HERE, "results")
# The raw run histories: ignored by git (.gitignore), written next to the results file they belong to.
RUNS_DIR = os.path.join(RESULTS_DIR, "runs")


def runs_dir(results_path):
    """The folder of the raw records that go with RESULTS_PATH (a runs/ folder next to it)."""
    return os.path.join(os.path.dirname(os.path.abspath(results_path)), "runs")


def details_path(results_path):
    stem = os.path.splitext(os.path.basename(results_path))[0]
    return os.path.join(runs_dir(results_path), stem + ".details.json")


def save(results_path, data, details, **dump_args):
    """Write DATA (settings and "summary") to RESULTS_PATH and DETAILS to its runs/ folder."""
    raw = details_path(results_path)
    os.makedirs(os.path.dirname(raw), exist_ok=True)
    with open(raw, "w") as f:
        json.dump(details, f, indent=1, **dump_args)
    data = dict(data, details_file=os.path.relpath(raw, os.path.dirname(os.path.abspath(results_path))))
    with open(results_path, "w") as f:
        json.dump(data, f, indent=1, **dump_args)


def load(results_path):
    """A results file with its "details" (an empty list when the raw records are not on this machine)."""
    with open(results_path) as f:
        data = json.load(f)
    if "details" not in data:
        raw = os.path.join(os.path.dirname(os.path.abspath(results_path)), data.get("details_file", ""))
        try:
            with open(raw) as f:
                data["details"] = json.load(f)
        except (OSError, ValueError):
            data["details"] = []
    return data
