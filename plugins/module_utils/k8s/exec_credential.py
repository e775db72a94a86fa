# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exec credential plugins (a kubeconfig user's ``exec``): run the command, read its ExecCredential, say why it failed.

gke-gcloud-auth-plugin, aws-iam-authenticator, ``aws eks get-token``, kubelogin: kubectl runs the
command and reads an ExecCredential JSON from its stdout. We run it ourselves rather than through the
kubernetes library's ExecProvider, which logs a failing plugin and carries on without credentials, so
the user saw "401 Unauthorized" instead of the plugin's error. Here every failure is a K8sConfigError
naming the kubeconfig user, the command, its exit status and the last lines of its stderr. stdout holds
the credential and is never quoted.

The plugin runs once when the kubeconfig is loaded (a plugin that fails, fails the task before any
request) and again only when the token's ``expirationTimestamp`` has passed. Cost: a module cannot
answer a plugin's interactive prompt (browser or device-code login): stdin is closed, and a plugin
still running after EXEC_TIMEOUT seconds is stopped with a message saying to log in beforehand.
"""
from __future__ import annotations

import datetime
import json
import os
import shlex
import subprocess
import time

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.errors import K8sConfigError

EXEC_TIMEOUT = 60
STDERR_LINES = 8
STDERR_LINE_CHARS = 300
# A token is fetched again this many seconds before it expires.
EXPIRY_MARGIN = 10
INSTALL_ADVICE = ("install it where the module runs: on the Ansible controller for a task that runs locally "
                  "(connection: local, delegate_to: localhost), or in the AWX / Automation Platform execution "
                  "environment (ansible-builder additional_build_steps or bindep.txt)")


def _tail(stderr):
    lines = [line.strip()[:STDERR_LINE_CHARS] for line in (stderr or "").splitlines() if line.strip()]
    return " | ".join(lines[-STDERR_LINES:])


def _expiry(value):
    """Seconds since the epoch of an RFC 3339 expirationTimestamp; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:  # fromisoformat before Python 3.11 takes only 3 or 6 fraction digits
        head, unused, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        text = head + "." + (digits + "000000")[:6] + rest[len(digits):]
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


class ExecCredential:
    """The credential of one kubeconfig user's exec plugin; ``token()`` runs the plugin again once it expired."""

    def __init__(self, user_name, exec_config, cluster=None, environ=None, clock=time.time):
        self.user_name = user_name
        self.clock = clock
        config = exec_config if isinstance(exec_config, dict) else {}
        self.command = config.get("command")
        if not self.command or not isinstance(self.command, str):
            raise self._error("exec has no command")
        self.api_version = config.get("apiVersion")
        if not self.api_version:
            raise self._error("exec has no apiVersion (for example client.authentication.k8s.io/v1beta1)")
        self.args = [str(a) for a in config.get("args") or []]
        self.install_hint = (config.get("installHint") or "").strip()
        self.env = dict(os.environ if environ is None else environ)
        for item in config.get("env") or []:
            if isinstance(item, dict) and item.get("name"):
                self.env[str(item["name"])] = str(item.get("value") or "")
        self.cluster = None
        if config.get("provideClusterInfo") and isinstance(cluster, dict):
            self.cluster = {k: v for k, v in cluster.items() if k != "extensions"}
            for extension in cluster.get("extensions") or []:
                if isinstance(extension, dict) and extension.get("name") == "client.authentication.k8s.io/exec":
                    self.cluster["config"] = extension.get("extension")
        self._token = None
        self._expires = None

    @property
    def command_line(self):
        return " ".join(shlex.quote(part) for part in [self.command] + self.args)

    def _error(self, text):
        return K8sConfigError("kubeconfig user %r: %s" % (self.user_name, text))

    def _failed(self, text):
        return self._error("the exec credential plugin `%s` %s" % (self.command_line, text))

    def run(self):
        """The plugin's ExecCredential status (token, or clientCertificateData and clientKeyData)."""
        info = {"apiVersion": self.api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
        if self.cluster is not None:
            info["spec"]["cluster"] = self.cluster
        env = dict(self.env, KUBERNETES_EXEC_INFO=json.dumps(info))
        try:
            process = subprocess.Popen([self.command] + self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, env=env, universal_newlines=True)
        except FileNotFoundError:
            hint = " (the kubeconfig's installHint: %s)" % _tail(self.install_hint) if self.install_hint else ""
            raise self._failed("cannot run: command %r not found on the PATH of the host where the module runs; "
                               "%s%s" % (self.command, INSTALL_ADVICE, hint))
        except OSError as exc:
            raise self._failed("cannot run: %s" % (exc.strerror or exc))
        try:
            stdout, stderr = process.communicate(timeout=EXEC_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise self._failed("did not finish within %d s; a module cannot answer an interactive login "
                               "(browser, device code): log in before the play runs" % EXEC_TIMEOUT)
        stderr = _tail(stderr)
        if process.returncode != 0:
            text = "exited with status %d" % process.returncode
            if process.returncode == 127:
                text += " (a command it runs was not found: %s)" % INSTALL_ADVICE
            raise self._failed(text + (": %s" % stderr if stderr else " and printed nothing on stderr"))
        try:
            data = json.loads(stdout)
        except ValueError as exc:
            raise self._failed("exited with status 0 but its output is not ExecCredential JSON (%s; stdout is not "
                               "shown, it holds the credential)%s" % (exc, "; stderr: " + stderr if stderr else ""))
        status = data.get("status") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("kind") != "ExecCredential" or not isinstance(status, dict):
            raise self._failed("exited with status 0 but printed no ExecCredential with a status")
        if data.get("apiVersion") != self.api_version:
            raise self._failed("answered with apiVersion %r; the kubeconfig asks for %r"
                               % (data.get("apiVersion"), self.api_version))
        if not status.get("token") and not (status.get("clientCertificateData") and status.get("clientKeyData")):
            raise self._failed("exited with status 0 but its ExecCredential has neither a token nor "
                               "clientCertificateData and clientKeyData")
        self._token = status.get("token") or None
        self._expires = _expiry(status.get("expirationTimestamp"))
        return status

    def token(self):
        """The bearer token (None for a client-certificate plugin), fetched again after it expired."""
        if self._token and self._expires is not None and self.clock() >= self._expires - EXPIRY_MARGIN:
            self.run()
        return self._token
