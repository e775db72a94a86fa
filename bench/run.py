"""`make bench`: run every side-by-side benchmark on the running local control plane, one after the
other (never in parallel: the machine has two cores), and print their tables together.

Run from the repository root as ``python -m bench.run`` (`make bench`); each benchmark runs the same
way (``python -m bench.<name>``), so the shared harness (statefuldb_dev) is importable. Each benchmark
is a script that prints a markdown table and writes bench/results/<name>.json.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BENCHMARKS = [
    ("control plane", [sys.executable, os.path.join(REPO, "tools", "localkube", "localkube.py"), "bench"]),
    ("kubernetes modules", [sys.executable, "-m", "bench.k8s_bench"]),
    ("mysql_cluster role", [sys.executable, "-m", "bench.mysql_bench"]),
    ("switchover and semi-sync", [sys.executable, "-m", "bench.switchover_bench"]),
    ("no-op re-run before and after the primary role", [sys.executable, "-m", "bench.noop_bench"]),
    ("progress overhead", [sys.executable, "-m", "bench.progress_bench"]),
]


def script_of(cmd):
    """The file a command runs: a script's path, or bench/<name>.py for ``-m bench.<name>``."""
    if cmd[1] == "-m":
        return os.path.join(REPO, *cmd[2].split(".")) + ".py"
    return cmd[1]


def main():
    failed = []
    sections = []
    for title, cmd in BENCHMARKS:
        if not os.path.exists(script_of(cmd)):
            failed.append("%s (missing %s)" % (title, os.path.relpath(script_of(cmd), REPO)))
            continue
        print("### %s" % title, flush=True)
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
        took = time.monotonic() - start
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
            failed.append(title)
            continue
        print(proc.stdout)
        sections.append("### %s\n\n%s\n(benchmark ran %.0f s)\n" % (title, proc.stdout.strip(), took))
    with open(os.path.join(HERE, "results", "summary.md"), "w") as f:
        f.write("\n".join(sections))
    if failed:
        print("benchmarks that did not run: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
