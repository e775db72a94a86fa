"""Control-plane restarts for `make chaos` (CHAOS_ARGS=--restarts): each during a statefulset apply + wait.

These stop and start processes of the shared local cluster with localkube's own functions
(running_pid, start, wait_healthy), loaded from the checkout that owns the running cluster (so the
command lines are exactly the ones `localkube.py up` uses and it sees no drift afterwards). They
disturb whoever else uses the cluster: run them on a quiet machine, once.

  kube-apiserver killed    SIGKILL once the StatefulSet exists (the wait is under way), then started
  etcd restarted           SIGTERM once the StatefulSet exists, then started
  controller-manager       restarted once the first pod exists (mid-rollout)
  scheduler stopped 10 s   stopped once the StatefulSet exists, started 10 s later

Success criterion for each: the task succeeds, the StatefulSet matches its definition and is Ready,
and `localkube.py status` is healthy afterwards.

The component always comes back, whatever the scenario does:
* it is started in a ``finally`` (after a stop that is bounded: SIGTERM, SIGKILL after localkube's
  grace, then wait until the process is gone and its ports are free, since starting while the
  killed process still holds its port fails);
* a watchdog timer, armed before the stop, starts it ``outage_bound`` seconds (60) after the
  disruption began if it is not running, even when the scenario thread hangs;
* each scenario runs in its own thread with a bound; past it the run counts as hung, the module is
  killed and the component is started;
* nothing here waits on the API server with a long budget: the checks use a client whose retries
  end after 20 s (the first attempt, in 2026-12, used the benchmark's one-hour client: with the API
  server down, one failed start turned into a process that hung for minutes with it down).
"""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time

CLIENT_TIMEOUT = 20
OUTAGE_BOUND = 60
SCENARIO_BOUND = 420
STOP_BOUND = 30


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


def process_gone(pid):
    """True once ``pid`` has exited (gone, or a zombie nobody reaped)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


class Restarts:
    def __init__(self, chaos, kubeconfig, lk=None, client=None, log_path=None, outage_bound=OUTAGE_BOUND,
                 scenario_bound=SCENARIO_BOUND):
        self.chaos = chaos
        self.kubeconfig = kubeconfig
        if lk is None:
            self.lk, self.lk_path = load_localkube(kubeconfig)
        else:
            self.lk, self.lk_path = lk, None
        self.binaries = self.lk.bin_dir(build=False)
        if client is None:
            from chaos import K8sClient  # noqa: E402 (bench/ on sys.path)

            client = K8sClient.from_auth({"kubeconfig": kubeconfig}, timeout=CLIENT_TIMEOUT)
        self.client = client
        self.log_path = log_path
        self.outage_bound, self.scenario_bound = outage_bound, scenario_bound
        self.lock = threading.Lock()  # the scenario thread and the watchdog never start a component together
        self.events = []  # what the watchdog and the safety nets did, for the report
        self.proc = None

    def note(self, text):
        line = "%s %s" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), text)
        self.events.append(line)
        print("restarts: " + line, flush=True)
        if self.log_path:
            with open(self.log_path, "a") as f:
                f.write("chaos_restarts %s\n" % line)

    # stopping and starting, bounded ------------------------------------------------------------
    def ports_free(self, name):
        return not any(self.lk.port_in_use(host, port) for host, port in self.lk.PORTS.get(name, []))

    def stop(self, name, pid, kill):
        """SIGKILL (or SIGTERM, then SIGKILL after localkube's grace); wait until gone and its ports are free."""
        os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
        now = time.monotonic()
        kill_at, deadline, killed = now + self.lk.STOP_GRACE.get(self.lk.kind(name), 5), now + STOP_BOUND, kill
        while time.monotonic() < deadline:
            if process_gone(pid) and self.ports_free(name):
                return
            if not killed and time.monotonic() > kill_at:
                os.kill(pid, signal.SIGKILL)
                killed = True
            time.sleep(0.05)
        raise RuntimeError("%s (pid %d) still running or its port still taken %ds after the signal" % (name, pid, STOP_BOUND))

    def ensure_running(self, name, who):
        """Start ``name`` unless it runs, wait until healthy. Bounded; safe from the watchdog's thread."""
        acquired = self.lock.acquire(timeout=self.lk.HEALTH_TIMEOUT[self.lk.kind(name)] + 60)
        if not acquired:
            self.note("%s: the lock is held by a stuck start; starting %s anyway" % (who, name))
        try:
            if self.lk.running_pid(name) is not None:
                self.lk.wait_healthy(name)
                return False
            last = None
            for dummy in range(3):  # the killed process may hold its port a little longer
                try:
                    if self.lk.running_pid(name) is None:  # a start that timed out may still come up
                        deadline = time.monotonic() + 15
                        while not self.ports_free(name) and time.monotonic() < deadline:
                            time.sleep(0.2)
                        self.lk.start(name, self.binaries)
                    self.lk.wait_healthy(name)
                    self.note("%s started %s" % (who, name))
                    return True
                except self.lk.LocalkubeError as exc:
                    last = exc
                    self.note("%s: starting %s failed: %s" % (who, name, str(exc).splitlines()[0]))
            raise last
        finally:
            if acquired:
                self.lock.release()

    def watchdog(self, name, since):
        if self.lk.running_pid(name) is not None:
            ok, detail = self.lk.healthy(name)
            if not ok:
                self.note("watchdog: %s running but not healthy %.0f s after the disruption: %s"
                          % (name, time.monotonic() - since, detail))
        else:
            self.note("watchdog: %s not running %.0f s after the disruption: starting it" % (name, time.monotonic() - since))
            try:
                self.ensure_running(name, "watchdog")
            except Exception as exc:  # noqa: BLE001 - a thread: report, the scenario's finally tries again
                self.note("watchdog: could not start %s: %r; start it by hand with localkube's start" % (name, exc))

    def restart(self, name, kill=False, pause=0.0):
        """Stop ``name`` (SIGKILL when ``kill``), wait ``pause``, start it; seconds until healthy again."""
        pid = self.lk.running_pid(name)
        if pid is None:
            raise RuntimeError("%s is not running: the cluster is not healthy, refusing to go on" % name)
        started = time.monotonic()
        timer = threading.Timer(pause + self.outage_bound, self.watchdog, (name, started))
        timer.daemon = True
        timer.start()
        self.note("%s %s (pid %d)%s" % ("SIGKILL" if kill else "stop", name, pid, ", %gs pause" % pause if pause else ""))
        try:
            self.stop(name, pid, kill)
            time.sleep(pause)
        finally:
            try:
                self.ensure_running(name, "scenario")
            finally:
                timer.cancel()
        return time.monotonic() - started

    def status(self):
        if self.lk_path is None:
            return all(self.lk.running_pid(n) is not None for n in self.lk.COMPONENTS), ["(no localkube.py)"]
        try:
            proc = subprocess.run([sys.executable, self.lk_path, "status"], capture_output=True, text=True, timeout=60,
                                  env=dict(os.environ, LOCALKUBE_STATE=os.environ["LOCALKUBE_STATE"]), check=False)
        except subprocess.TimeoutExpired:
            return False, ["localkube.py status did not answer in 60 s"]
        return proc.returncode == 0, proc.stdout.strip().splitlines()[-1:] if proc.stdout else [proc.stderr[-300:]]

    # one run -----------------------------------------------------------------------------------
    def run(self, title, component, trigger="sts", kill=False, pause=0.0, index=0):
        """One scenario in its own thread, bounded; the component is running again when this returns."""
        outcome = {"scenario": title, "run": index, "component": component}
        worker = threading.Thread(target=self._run, args=(outcome, component, trigger, kill, pause, index),
                                  daemon=True, name="restart-%s" % component)
        started = time.monotonic()
        worker.start()
        worker.join(self.scenario_bound)
        if worker.is_alive():
            outcome.update(error="HUNG: the scenario did not end in %d s" % self.scenario_bound, ok=False,
                           seconds=round(time.monotonic() - started, 2), failed=True, half_applied=False)
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
            try:
                self.ensure_running(component, "after the hung scenario")
            except Exception as exc:  # noqa: BLE001
                outcome["error"] += "; could not start %s: %r" % (component, exc)
            outcome["cluster_healthy_after"], outcome["status"] = self.status()
        return outcome

    def _run(self, outcome, component, trigger, kill, pause, index):
        from chaos import K8sError, matches_definition, module_command, sts_definition  # noqa: E402

        name = "c-restart-%s-%d" % (component.replace("kube-", ""), index)
        namespace = self.chaos.namespace
        definition = sts_definition(name, namespace, "real")
        args = {"definition": definition, "wait": True, "wait_timeout": 240, "stall_timeout": 0,
                "kubeconfig": self.kubeconfig}
        started = time.monotonic()
        self.proc = proc = subprocess.Popen(module_command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                            text=True, env=dict(os.environ, PYTHONPATH=self.chaos.collections))
        out, err = "", ""
        try:
            deadline, seen = time.monotonic() + 60, False
            while time.monotonic() < deadline and not seen:
                try:
                    if trigger == "sts":
                        seen = self.client.get("apps/v1", "StatefulSet", name, namespace) is not None
                    else:
                        seen = self.client.get("v1", "Pod", name + "-0", namespace) is not None
                except K8sError:
                    pass
                time.sleep(0.1)
            if not seen:
                raise RuntimeError("the trigger (%s exists) never came in 60 s: nothing was disrupted" % trigger)
            outcome["outage_seconds"] = round(self.restart(component, kill=kill, pause=pause), 1)
            out, err = proc.communicate(timeout=args["wait_timeout"] + 60)
        except Exception as exc:  # noqa: BLE001 - report; the component is back (restart's finally)
            outcome["error"] = repr(exc)
            proc.kill()
            out, err = proc.communicate()
        elapsed = time.monotonic() - started
        try:
            result = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            result = {"failed": True, "msg": "no JSON result: %s" % (err or out)[-400:]}
        try:
            live = self.client.get("apps/v1", "StatefulSet", name, namespace)
        except K8sError as exc:
            live, outcome["error"] = None, outcome.get("error", "") + " cannot read the StatefulSet: %s" % exc
        ready = (live or {}).get("status", {}).get("readyReplicas")
        half = not result.get("failed") and (live is None or not matches_definition(live, definition) or ready != 3)
        healthy, detail = self.status()
        outcome.update(seconds=round(elapsed, 2), failed=bool(result.get("failed")), msg=(result.get("msg") or "")[:300],
                       watch_resumes=result.get("watch_resumes", 0), half_applied=half, faults=1,
                       cluster_healthy_after=healthy, status=detail)
        outcome["ok"] = not outcome["failed"] and not half and healthy and "error" not in outcome
        if live is not None:
            try:
                self.client.delete("apps/v1", "StatefulSet", name, namespace, propagation_policy="Background")
            except K8sError:
                pass


SCENARIOS = [
    # (title, component, trigger, kill, pause)
    ("kube-apiserver SIGKILL + restart", "kube-apiserver", "sts", True, 0.0),
    ("etcd restart", "etcd", "sts", False, 0.0),
    ("controller-manager restart", "kube-controller-manager", "pod", False, 0.0),
    ("scheduler stopped 10 s", "kube-scheduler", "sts", False, 10.0),
]
