"""Control-plane restarts for `make chaos` (CHAOS_ARGS=--restarts): each during a statefulset apply + wait.

These stop and start processes of the shared local cluster with localkube's own functions (stop,
start, wait_healthy), loaded from the checkout that owns the running cluster (so the command lines
are exactly the ones `localkube.py up` uses and it sees no drift afterwards). They disturb whoever
else uses the cluster: run them on a quiet machine, once.

  kube-apiserver killed    SIGKILL once the StatefulSet exists (the wait is under way), then started
  etcd restarted           SIGTERM (localkube's stop) once the StatefulSet exists, then started
  controller-manager       restarted once the first pod exists (mid-rollout)
  scheduler stopped 10 s   stopped once the StatefulSet exists, started 10 s later

Success criterion for each: the task succeeds, the StatefulSet matches its definition and is Ready,
and `localkube.py status` is healthy afterwards.
"""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time


def load_localkube(kubeconfig):
    """localkube.py of the checkout whose .localkube holds ``kubeconfig``, with its state dir."""
    state = os.path.dirname(os.path.realpath(kubeconfig))
    checkout = os.path.dirname(state)
    path = os.path.join(checkout, "tools", "localkube", "localkube.py")
    if not os.path.exists(path):
        raise SystemExit("no tools/localkube/localkube.py next to %s: cannot restart components" % state)
    os.environ["LOCALKUBE_STATE"] = state
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location("localkube_for_chaos", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, path


class Restarts:
    def __init__(self, chaos, kubeconfig):
        self.chaos = chaos
        self.kubeconfig = kubeconfig
        self.lk, self.lk_path = load_localkube(kubeconfig)
        self.binaries = self.lk.bin_dir(build=False)

    # the disruptions ---------------------------------------------------------------------------
    def restart(self, name, kill=False, pause=0.0):
        pid = self.lk.running_pid(name)
        if pid is None:
            raise RuntimeError("%s is not running: the cluster is not healthy, refusing to go on" % name)
        started = time.monotonic()
        if kill:
            os.kill(pid, signal.SIGKILL)
        self.lk.stop(name)  # SIGTERM (or, after a kill, only reaps and removes the pid file)
        time.sleep(pause)
        self.lk.start(name, self.binaries)
        self.lk.wait_healthy(name)
        return time.monotonic() - started

    def status(self):
        proc = subprocess.run([sys.executable, self.lk_path, "status"], capture_output=True, text=True,
                              env=dict(os.environ, LOCALKUBE_STATE=os.environ["LOCALKUBE_STATE"]), check=False)
        return proc.returncode == 0, proc.stdout.strip().splitlines()[-1:] if proc.stdout else [proc.stderr[-300:]]

    # one run -----------------------------------------------------------------------------------
    def run(self, title, component, trigger="sts", kill=False, pause=0.0):
        from chaos import matches_definition, module_command, sts_definition  # noqa: E402 (bench/ on sys.path)

        name = "c-restart-%s" % component.replace("kube-", "")
        namespace = self.chaos.namespace
        definition = sts_definition(name, namespace, "real")
        args = {"definition": definition, "wait": True, "wait_timeout": 240, "stall_timeout": 0,
                "kubeconfig": self.kubeconfig}
        started = time.monotonic()
        proc = subprocess.Popen(module_command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, PYTHONPATH=self.chaos.collections))
        outcome = {"scenario": title, "run": 0, "component": component}
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if trigger == "sts" and self.chaos.direct.get("apps/v1", "StatefulSet", name, namespace):
                    break
                if trigger == "pod" and self.chaos.direct.get("v1", "Pod", name + "-0", namespace):
                    break
                time.sleep(0.1)
            outcome["outage_seconds"] = round(self.restart(component, kill=kill, pause=pause), 1)
            out, err = proc.communicate(timeout=300)
        except Exception as exc:  # noqa: BLE001 - report, then make sure the component is back
            proc.kill()
            out, err = proc.communicate()
            outcome["error"] = repr(exc)
            if self.lk.running_pid(component) is None:
                self.lk.start(component, self.binaries)
                self.lk.wait_healthy(component)
        elapsed = time.monotonic() - started
        try:
            result = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            result = {"failed": True, "msg": "no JSON result: %s" % (err or out)[-400:]}
        live = self.chaos.direct.get("apps/v1", "StatefulSet", name, namespace)
        ready = (live or {}).get("status", {}).get("readyReplicas")
        half = not result.get("failed") and (live is None or not matches_definition(live, definition) or ready != 3)
        healthy, detail = self.status()
        outcome.update(seconds=round(elapsed, 2), failed=bool(result.get("failed")), msg=(result.get("msg") or "")[:300],
                       watch_resumes=result.get("watch_resumes", 0), half_applied=half, faults=1,
                       cluster_healthy_after=healthy, status=detail)
        outcome["ok"] = not outcome["failed"] and not half and healthy and "error" not in outcome
        if live is not None:
            self.chaos.direct.delete("apps/v1", "StatefulSet", name, namespace, propagation_policy="Background")
        return outcome


SCENARIOS = [
    # (title, component, trigger, kill, pause)
    ("kube-apiserver SIGKILL + restart", "kube-apiserver", "sts", True, 0.0),
    ("etcd restart", "etcd", "sts", False, 0.0),
    ("controller-manager restart", "kube-controller-manager", "pod", False, 0.0),
    ("scheduler stopped 10 s", "kube-scheduler", "sts", False, 10.0),
]
