"""`make test` must not destroy what ran on the cluster before it (the gate `survives`).

    survives.py record STATE   before the gates: put a fresh random token in ConfigMap
                               statefuldb-keep/keep (namespace created if missing) and write the token
                               and every Active namespace to STATE (JSON)
    survives.py check STATE    after the gates: the ConfigMap still holds that token and every
                               namespace of STATE still exists; exit 1 naming what is gone

It cannot pass on its own: `check` fails without a STATE written by `record` in this run
(tools/test-all.sh deletes the old one first), without a token, when the namespace, the ConfigMap
or the token is gone, and when no cluster answers.

Namespaces the suite deploys into by a fixed name and deletes itself (SUITE_OWNED) are not
counted: a leftover of an interrupted run must not fail the next one. Every other namespace the
tests create has a generated name (t-..., awx-..., chaos-...) and did not exist before.
"""
import argparse
import json
import os
import secrets
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KUBECONFIG = os.path.join(REPO, ".localkube", "kubeconfig")
KEEP_NAMESPACE = "statefuldb-keep"
KEEP_CONFIGMAP = "keep"
# Fixed names the suite itself creates and deletes: the mysql_cluster Molecule scenario and the
# consumer role (tests/consumer/roles/orders_db).
SUITE_OWNED = {"molecule-mysql-cluster", "orders"}
TIMEOUT = 15  # seconds per API request


class Failed(Exception):
    """What the gate says when it fails."""


def connect(kubeconfig):
    try:
        from kubernetes import client, config
    except ImportError as exc:
        raise Failed("the kubernetes library is missing (%s); run it with .venv/bin/python" % exc)
    if not os.path.exists(kubeconfig):
        raise Failed("no kubeconfig at %s: is the local cluster up (`make cluster`)?" % kubeconfig)
    try:
        return client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    except Exception as exc:  # a broken kubeconfig: say so, no traceback
        raise Failed("cannot use kubeconfig %s: %s" % (kubeconfig, exc))


def call(what, function, *args, **kwargs):
    """One API call: None on 404 when ``missing_ok``, any other failure a Failed naming ``what``."""
    from kubernetes.client.exceptions import ApiException

    missing_ok = kwargs.pop("missing_ok", False)
    try:
        return function(*args, _request_timeout=TIMEOUT, **kwargs)
    except ApiException as exc:
        if exc.status == 404 and missing_ok:
            return None
        raise Failed("%s: HTTP %s %s" % (what, exc.status, exc.reason))
    except Exception as exc:  # connection refused, timeout, TLS: no cluster answers
        raise Failed("%s: no answer from the cluster (%s)" % (what, exc.__class__.__name__))


def active_namespaces(core):
    items = call("list namespaces", core.list_namespace).items
    return sorted(n.metadata.name for n in items
                  if not n.metadata.deletion_timestamp and (n.status is None or n.status.phase != "Terminating"))


def record(core, state_path):
    from kubernetes import client

    token = secrets.token_hex(16)
    if call("read namespace %s" % KEEP_NAMESPACE, core.read_namespace, KEEP_NAMESPACE, missing_ok=True) is None:
        call("create namespace %s" % KEEP_NAMESPACE, core.create_namespace,
             client.V1Namespace(metadata=client.V1ObjectMeta(name=KEEP_NAMESPACE)))
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=KEEP_CONFIGMAP), data={"token": token})
    what = "write ConfigMap %s/%s" % (KEEP_NAMESPACE, KEEP_CONFIGMAP)
    if call(what, core.read_namespaced_config_map, KEEP_CONFIGMAP, KEEP_NAMESPACE, missing_ok=True) is None:
        call(what, core.create_namespaced_config_map, KEEP_NAMESPACE, body)
    else:
        call(what, core.replace_namespaced_config_map, KEEP_CONFIGMAP, KEEP_NAMESPACE, body)
    namespaces = active_namespaces(core)
    if KEEP_NAMESPACE not in namespaces:
        raise Failed("namespace %s was created but is not listed as Active" % KEEP_NAMESPACE)
    os.makedirs(os.path.dirname(os.path.abspath(state_path)), exist_ok=True)
    with open(state_path, "w") as f:
        json.dump({"token": token, "namespaces": namespaces}, f)
    print("recorded: token in %s/%s, %d namespaces: %s" % (
        KEEP_NAMESPACE, KEEP_CONFIGMAP, len(namespaces), ", ".join(namespaces)))


def check(core, state_path):
    try:
        with open(state_path) as f:
            before = json.load(f)
    except (OSError, ValueError) as exc:
        raise Failed("no record from before the suite (%s): `survives.py record` did not run or failed" % exc)
    token, namespaces = before.get("token"), before.get("namespaces") or []
    if not token or KEEP_NAMESPACE not in namespaces:
        raise Failed("the record %s holds no token or misses %s" % (state_path, KEEP_NAMESPACE))
    problems = []
    kept = call("read ConfigMap %s/%s" % (KEEP_NAMESPACE, KEEP_CONFIGMAP), core.read_namespaced_config_map,
                KEEP_CONFIGMAP, KEEP_NAMESPACE, missing_ok=True)
    if kept is None:
        problems.append("ConfigMap %s/%s (or its namespace) is gone" % (KEEP_NAMESPACE, KEEP_CONFIGMAP))
    elif (kept.data or {}).get("token") != token:
        problems.append("ConfigMap %s/%s no longer holds the token written before the suite" % (
            KEEP_NAMESPACE, KEEP_CONFIGMAP))
    now = set(active_namespaces(core))
    gone = sorted(set(namespaces) - now - SUITE_OWNED)
    if gone:
        problems.append("namespaces that existed before the suite are gone: %s" % ", ".join(gone))
    if problems:
        raise Failed("; ".join(problems))
    print("survived: the token in %s/%s and all %d namespaces from before the suite (%s)" % (
        KEEP_NAMESPACE, KEEP_CONFIGMAP, len(set(namespaces) - SUITE_OWNED),
        ", ".join(sorted(set(namespaces) - SUITE_OWNED))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("record", "check"))
    parser.add_argument("state", help="JSON file: written by record, read by check")
    parser.add_argument("--kubeconfig", default=KUBECONFIG)
    args = parser.parse_args(argv)
    try:
        core = connect(args.kubeconfig)
        (record if args.action == "record" else check)(core, args.state)
    except Failed as exc:
        print("survives %s: FAILED: %s" % (args.action, exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
