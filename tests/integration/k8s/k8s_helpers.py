"""Helpers for the Kubernetes module tests (imported by name: several folders have a conftest.py)."""


def sts_task(namespace, name="db", register="out", **options):
    args = {"name": name, "namespace": namespace}
    args.update(options)
    return {"name": "statefulset %s" % name, "statefuldb.k8s.statefulset": args, "register": register}


def only_result(run):
    """The module's result of the single task of a run (fails the test with the output if it is missing)."""
    results = run.results
    assert results, "no task result; rc=%s\nstdout=%s\nstderr=%s" % (run.rc, run.stdout[-3000:], run.stderr[-3000:])
    return results[-1]


def pod_names(core, namespace):
    return sorted(p.metadata.name for p in core.list_namespaced_pod(namespace).items)


def pvc_uids(core, namespace):
    return {c.metadata.name: c.metadata.uid for c in core.list_namespaced_persistent_volume_claim(namespace).items}
