"""`make chaos-cloudsql`: the Cloud SQL modules against the Admin API fake under faults, N times per scenario.

No cluster: statefuldb_dev/cloudsql_api.py serves the Cloud SQL Admin API and the OAuth token endpoint
on loopback, a generated service-account key signs the token requests, and each run drives the real
module (python -m ...cloudsql_access '<args json>', as Ansible runs it on the target) against a fresh
instance that already has two authorized networks. The fake injects, per scenario (seeded by the
run number: which request the fault lands on, which networks the runs add):

* 429 RESOURCE_EXHAUSTED with Retry-After and 503 UNAVAILABLE, as Google's front end answers them;
* another client's long operation (409 operationInProgress) and an operation that ends with an error;
* a 412 settingsVersion race: another client writes between our read and our write, or two
  cloudsql_access runs at once (their reads are gated so both read the same settingsVersion), each
  adding a different network, on even runs with a third writer as well;
* a response lost after the API acted (the PATCH, a user's POST): the retry meets 409 / 412.

Criteria per run: a transient fault -> the task succeeds (changed, what it asked for is there); a
permanent one -> it fails within its bound, saying why, without a traceback. Always: no authorized
network lost (every pre-existing network, every network a successful run added and every network
the other writer added is there), no duplicate entries, no request re-sent sooner than the
Retry-After it was told (from the fake's request log), and the fault really fired.

Usage: .venv/bin/python -m bench.chaos_cloudsql [--runs N] [--quick] [--only SCENARIO ...]
       make chaos-cloudsql CHAOS_RUNS=3      (exit 1 if any scenario misses its criterion)
"""
import argparse
import ipaddress
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bench import chaos  # module runs, percentile, table and Retry-After check are shared
from bench import results_io
from statefuldb_dev.cloudsql_api import FakeCloudSql

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

PROJECT = "chaos-project"
RESULTS = os.path.join(HERE, "results", "chaos_cloudsql.json")
PRE_EXISTING = [{"name": "office", "value": "203.0.113.0/24"}, {"name": "vpn", "value": "198.51.100.0/28"}]
THIRD_WRITER = {"name": "other-client", "value": "192.0.2.77"}
# Fast operations keep 20 runs of every scenario within minutes; the modules poll them all the same.
PENDING_SECONDS, RUNNING_SECONDS = 0.02, 0.08
SUCCESS_WAIT_TIMEOUT = 20


class Scenario:
    """One fault: ``arm(fake, run)`` sets it up for a run and returns a callable counting how often it fired."""

    def __init__(self, name, fault, arm, expect="success", message=None, wait_timeout=SUCCESS_WAIT_TIMEOUT,
                 bound=None, module="cloudsql_access", tasks=1, retry_after=0, quick=False, why=""):
        self.name, self.fault, self.arm, self.expect, self.message = name, fault, arm, expect, message
        self.wait_timeout, self.bound, self.module, self.tasks = wait_timeout, bound, module, tasks
        self.retry_after, self.quick, self.why = retry_after, quick, why

    def criterion(self):
        if self.expect == "success":
            text = "both runs succeed, both networks kept" if self.tasks > 1 else "task succeeds"
            if self.retry_after:
                text += ", waits %gs per 429 as told" % self.retry_after
            return text
        return "fails in <= %ds saying %r" % (self.bound, self.message)


def _statuses(fake, first, *statuses):
    """A counter of the answers with these statuses (None: lost) in the request log from ``first`` on."""
    return lambda: sum(1 for r in fake.request_log[first:] if r["status"] in statuses)


def arm_errors(status, retry_after=None, sweep=1, **rule):
    def arm(fake, run):
        schedule = fake.inject_errors(status, first=1 + run.index % sweep, retry_after=retry_after, **rule)
        return lambda: schedule.fired
    return arm


def arm_busy(seconds):
    def arm(fake, run):
        fake.busy_on_next_read(PROJECT, run.instance, seconds)
        return _statuses(fake, len(fake.request_log), 409)
    return arm


def arm_race(fake, run):
    fake.race_on_next_read(PROJECT, run.instance, THIRD_WRITER)
    run.others.append(THIRD_WRITER)
    return lambda: int((PROJECT, run.instance) not in fake.race_next)


def arm_concurrent(fake, run):
    fake.gate_next_reads(PROJECT, run.instance, 2)
    if run.index % 2 == 0:
        arm_race(fake, run)
    return _statuses(fake, len(fake.request_log), 409, 412)


def arm_lost(method, suffix):
    def arm(fake, run):
        fake.lose_next_response(method, "/instances/%s%s" % (run.instance, suffix))
        return _statuses(fake, len(fake.request_log), None)
    return arm


def arm_operation_error(fake, run):
    fake.fail_next_operation(PROJECT, run.instance, "An internal error has occurred. Please retry in a few minutes.",
                             code="INTERNAL_ERROR")
    return lambda: int((PROJECT, run.instance) not in fake.fail_next)


SCENARIOS = [
    Scenario("429 Retry-After", "429 on every 2nd request, Retry-After: 1, twice", quick=True, retry_after=1,
             arm=arm_errors(429, retry_after=1, every=2, limit=2, sweep=2),
             why="throttling is transient; each run gets one 429 on the PATCH and one on a read, and "
                 "waits as long as the API asked before re-sending either"),
    Scenario("503", "503 UNAVAILABLE on every 2nd request, twice", quick=True,
             arm=arm_errors(503, every=2, limit=2, sweep=2)),
    Scenario("409 operation in progress", "another client's 0.5 s operation starts right after our read",
             arm=arm_busy(0.5),
             why="409 operationInProgress is retried until the other operation is done"),
    Scenario("412 another writer", "another client adds a network between our read and our PATCH",
             arm=arm_race, why="the stale PATCH gets 412; the module reads again and merges"),
    Scenario("412 two concurrent runs", "two cloudsql_access runs at once, same settingsVersion read; "
             "even runs: a third writer too", arm=arm_concurrent, tasks=2, quick=True,
             why="one PATCH wins, the other meets 409/412, reads again and merges"),
    Scenario("lost PATCH response", "the PATCH is applied, its answer lost", quick=True,
             arm=arm_lost("PATCH", ""),
             why="the retried PATCH meets 409/412; the network must be there once and the task changed"),
    Scenario("lost user POST response", "cloudsql_user: the POST is applied, its answer lost", module="cloudsql_user",
             arm=arm_lost("POST", "/users"),
             why="the retried create meets 409 / ALREADY_EXISTS and must count as created"),
    Scenario("operation error", "the update operation ends with INTERNAL_ERROR", expect="failure", quick=True,
             message="INTERNAL_ERROR: An internal error has occurred", bound=10, arm=arm_operation_error,
             why="an operation error is reported with its text; nothing else on the instance changes"),
    Scenario("503 forever", "503 on every request", expect="failure", message="503", wait_timeout=2, bound=2 + 8,
             arm=arm_errors(503, every=1), quick=True,
             why="the task deadline (wait_timeout 2 s) bounds the retries"),
    Scenario("429 Retry-After past the deadline", "429 on every request, Retry-After: 30", expect="failure",
             message="429", wait_timeout=5, bound=5 + 5, retry_after=30,
             arm=arm_errors(429, retry_after=30, every=1),
             why="waiting 30 s does not fit wait_timeout 5 s: fail now, never re-send early"),
]


class Run:
    def __init__(self, scenario, index, seed):
        self.index = index
        self.rng = random.Random(seed * 100003 + index)
        slug = "".join(c if c.isalnum() else "-" for c in scenario.name.lower())
        self.instance = "-".join(filter(None, ("c-%s-%d-%s" % (slug[:40], index, uuid.uuid4().hex[:4])).split("-")))
        self.networks = [{"name": "run%d-task%d" % (index, task),
                          "value": "10.%d.%d.%d" % (self.rng.randrange(256), self.rng.randrange(256),
                                                    self.rng.randrange(1, 255))}
                         for task in range(scenario.tasks)]
        self.others = []  # networks another client added during the run


def _entry_key(entry):
    try:
        return entry.get("name"), str(ipaddress.ip_network(entry.get("value", ""), strict=False))
    except ValueError:
        return entry.get("name"), entry.get("value")


def _duplicates(keys):
    names = [k[0] for k in keys if k[0]]
    values = [k[1] for k in keys]
    return (len(names) - len(set(names))) + (len(values) - len(set(values)))


class CloudSqlChaos:
    def __init__(self, runs, seed):
        self.runs, self.seed = runs, seed
        self.fake = FakeCloudSql(pending_seconds=PENDING_SECONDS, running_seconds=RUNNING_SECONDS).start()
        self.tmp = tempfile.mkdtemp(prefix="chaos-cloudsql-")
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        email = "chaos@%s.iam.gserviceaccount.com" % PROJECT
        info = {"type": "service_account", "project_id": PROJECT, "private_key_id": uuid.uuid4().hex,
                "private_key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()).decode(),
                "client_email": email, "client_id": "1234567890", "token_uri": self.fake.token_uri}
        self.fake.add_service_account(email, key.public_key())
        self.key_path = os.path.join(self.tmp, "sa.json")
        with os.fdopen(os.open(self.key_path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            json.dump(info, f)

    def close(self):
        self.fake.stop()

    def args(self, scenario, run, task):
        args = {"project": PROJECT, "instance": run.instance, "auth_kind": "serviceaccount",
                "service_account_file": self.key_path, "api_endpoint": self.fake.base_url,
                "wait_timeout": scenario.wait_timeout}
        if scenario.module == "cloudsql_user":
            return dict(args, name="app-%d" % run.index, host="%", password="Chaos-%s" % uuid.uuid4().hex)
        return dict(args, authorized_networks=[run.networks[task]])

    def one(self, scenario, index):
        run = Run(scenario, index, self.seed)
        self.fake.add_instance(PROJECT, run.instance,
                               authorized_networks=[dict(e, kind="sql#aclEntry") for e in PRE_EXISTING])
        first_record = len(self.fake.request_log)
        fired = scenario.arm(self.fake, run)
        with ThreadPoolExecutor(max_workers=scenario.tasks) as pool:
            futures = [pool.submit(chaos.run_module, self.args(scenario, run, task), 120, scenario.module)
                       for task in range(scenario.tasks)]
            results = [f.result() for f in futures]
        fired_count = fired()
        self.fake.clear_faults()
        try:  # a failed run may leave its operation running; the check reads the settled instance
            self.fake.wait_idle(timeout=10, instance=run.instance)
        except AssertionError:
            pass
        elapsed = max(seconds for _result, seconds in results)
        failed = [bool(r.get("failed")) for r, _s in results]
        outcome = {"scenario": scenario.name, "run": index, "instance": run.instance, "seconds": round(elapsed, 2),
                   "faults": fired_count, "failed": any(failed),
                   "msg": " | ".join((r.get("msg") or "")[:300] for r, _s in results if r.get("failed")),
                   "changed": [r.get("changed") for r, _s in results],
                   "attempts": [r.get("attempts") for r, _s in results]}
        live = [_entry_key(e) for e in self.fake.authorized_networks(PROJECT, run.instance)]
        expected = PRE_EXISTING + run.others
        if scenario.module == "cloudsql_access":
            expected = expected + [run.networks[i] for i in range(scenario.tasks) if not failed[i]]
        lost = [k for k in map(_entry_key, expected) if k not in live]
        outcome.update(networks=[list(k) for k in live], networks_lost=len(lost), duplicates=_duplicates(live))
        notes = []
        if lost:
            notes.append("networks lost: %s" % lost)
        if outcome["duplicates"]:
            notes.append("duplicate entries")
        if scenario.module == "cloudsql_user":
            users = [u for u in self.fake.users[(PROJECT, run.instance)] if u["name"] == "app-%d" % index]
            if not failed[0] and len(users) != 1:
                notes.append("%d users named app-%d after a successful create" % (len(users), index))
        traceback = [r for r, _s in results if r.get("traceback") or r.get("exception") or r.get("hung")]
        if traceback:
            notes.append("a traceback or a hang: %s" % traceback[0].get("msg", "")[:200])
        if scenario.expect == "success":
            if any(failed):
                notes.append("a task failed")
            elif not all(r.get("changed") is True for r, _s in results):
                notes.append("changed=%s: every run added a network (or user), changed must be true"
                             % outcome["changed"])
        else:
            if not all(failed):
                notes.append("the task did not fail")
            elif not all(scenario.message.lower() in (r.get("msg") or "").lower() for r, _s in results):
                notes.append("the message does not say %r" % scenario.message)
            if elapsed > scenario.bound:
                notes.append("took %.1fs, more than its bound of %ds" % (elapsed, scenario.bound))
        records = self.fake.request_log[first_record:]
        # Which requests met a fault or a conflict (None: the answer was lost), for the results file.
        outcome["faulted"] = ["%s %s %s" % (r["verb"], r["path"].split("/", 4)[-1], r["status"])
                              for r in records if r["status"] != 200]
        early = chaos.early_retries(records, scenario.retry_after)
        if early:
            notes.append("re-sent sooner than Retry-After said: %s" % "; ".join(early))
        if not fired_count:
            notes.append("the fault never fired")
        outcome["ok"] = not notes
        if notes:
            outcome["note"] = "; ".join(notes)
        return outcome


def summary_row(scenario, outcomes):
    times = [o["seconds"] for o in outcomes]
    return {"scenario": scenario.name, "fault": scenario.fault, "module": scenario.module,
            "criterion": scenario.criterion(), "runs": len(outcomes), "succeeded": sum(o["ok"] for o in outcomes),
            "p50": statistics.median(times), "p95": chaos.percentile(times, 0.95),
            "networks_lost": sum(o["networks_lost"] for o in outcomes),
            "duplicates": sum(o["duplicates"] for o in outcomes)}


def table(summary):
    return chaos.markdown_table(
        ["scenario", "fault", "criterion", "runs", "succeeded", "p50 s", "p95 s", "networks lost", "duplicates"],
        [[row["scenario"], row["fault"], row["criterion"], "%d" % row["runs"], "%d" % row["succeeded"],
          "%.1f" % row["p50"], "%.1f" % row["p95"], "%d" % row["networks_lost"], "%d" % row["duplicates"]]
         for row in summary])


def save(path, args, summary, details, seconds):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    results_io.save(path, {"runs": args.runs, "seed": args.seed, "via": "module", "seconds": round(seconds, 1),
                           "date": time.strftime("%Y-%m-%d %H:%M %Z"),
                           "machine": "%s, %d CPUs, Python %s" % (platform.platform(), os.cpu_count() or 0,
                                                                  platform.python_version()),
                           "summary": summary}, details)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Cloud SQL modules against the Admin API fake under faults")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("CHAOS_RUNS") or 20))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED") or 1))
    parser.add_argument("--only", action="append", help="scenario name (repeatable)")
    parser.add_argument("--quick", action="store_true", help="the `make test` subset (fewer scenarios)")
    parser.add_argument("--results", default=RESULTS)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--table-from", metavar="RESULTS_JSON", help="only print the table of an earlier run")
    args = parser.parse_args(argv)
    if args.table_from:
        with open(args.table_from) as f:
            print(table(json.load(f)["summary"]))
        return 0
    scenarios = [s for s in SCENARIOS if (not args.only or s.name in args.only) and (s.quick or not args.quick)]
    if args.list:
        for s in scenarios:
            print("%-34s %-60s %s" % (s.name, s.fault, s.criterion()))
        return 0
    if not scenarios:
        parser.error("no scenario matches %s" % args.only)
    bench = CloudSqlChaos(args.runs, args.seed)
    summary, details = [], []
    started = time.monotonic()
    try:
        for scenario in scenarios:
            outcomes = [bench.one(scenario, i) for i in range(args.runs)]
            details += outcomes
            row = summary_row(scenario, outcomes)
            summary.append(row)
            print("%-34s %d/%d  p50 %.1fs  p95 %.1fs  networks lost %d  duplicates %d" % (
                scenario.name, row["succeeded"], row["runs"], row["p50"], row["p95"], row["networks_lost"],
                row["duplicates"]), flush=True)
            for o in outcomes:
                if not o["ok"]:
                    print("    run %d FAILED its criterion: %s" % (o["run"], json.dumps(o)), flush=True)
            save(args.results, args, summary, details, time.monotonic() - started)
    finally:
        bench.close()
    seconds = time.monotonic() - started
    print()
    print(table(summary))
    print("\n%d scenarios x %d runs (module run directly, against statefuldb_dev/cloudsql_api.py) in %.0f s" % (
        len(summary), args.runs, seconds))
    save(args.results, args, summary, details, seconds)
    return 0 if all(r["succeeded"] == r["runs"] for r in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
