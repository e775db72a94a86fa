# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a playbook the way AWX runs a job: a private data directory (project/, inventory/,
env/extravars, env/envvars, credential files under env/) handed to ansible-runner.

The two injectors follow AWX's built-in credential types (awx/main/models/credential/injectors.py):
- "OpenShift or Kubernetes API Bearer Token": K8S_AUTH_HOST, K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL
  ("True"/"False"), and with verify_ssl the CA written to a file under env/ (K8S_AUTH_SSL_CA_CERT).
- "Google Compute Engine": a service-account JSON file under env/ built from the credential's
  email, project and private key; GCE_EMAIL, GCE_PROJECT, GCE_CREDENTIALS_FILE_PATH,
  GCP_SERVICE_ACCOUNT_FILE, GCP_AUTH_KIND=serviceaccount, GCP_PROJECT, GCP_ENV_TYPE=tower.
"""

import base64
import json
import os
import shutil
import stat
import sys
import tempfile

import ansible_runner

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Files AWX writes for credentials are read/write for owner and group.
CREDENTIAL_FILE_MODE = stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP


def _credential_file(private_data_dir, content):
    handle, path = tempfile.mkstemp(dir=os.path.join(private_data_dir, "env"))
    with os.fdopen(handle, "w") as stream:
        stream.write(content)
    os.chmod(path, CREDENTIAL_FILE_MODE)
    return path


def inject_kubernetes_bearer_token(inputs, env, private_data_dir):
    env["K8S_AUTH_HOST"] = inputs.get("host", "")
    env["K8S_AUTH_API_KEY"] = inputs.get("bearer_token", "")
    if inputs.get("verify_ssl") and "ssl_ca_cert" in inputs:
        env["K8S_AUTH_VERIFY_SSL"] = "True"
        env["K8S_AUTH_SSL_CA_CERT"] = _credential_file(private_data_dir, inputs["ssl_ca_cert"])
    else:
        env["K8S_AUTH_VERIFY_SSL"] = "False"


def inject_gce(inputs, env, private_data_dir, token_uri):
    key = {"type": "service_account", "private_key": inputs.get("ssh_key_data", ""),
           "client_email": inputs.get("username", ""), "project_id": inputs.get("project", ""),
           "token_uri": token_uri}
    path = _credential_file(private_data_dir, json.dumps(key, indent=2))
    env.update({"GCE_EMAIL": key["client_email"], "GCE_PROJECT": key["project_id"],
                "GCE_CREDENTIALS_FILE_PATH": path, "GCP_SERVICE_ACCOUNT_FILE": path,
                "GCP_AUTH_KIND": "serviceaccount", "GCP_PROJECT": key["project_id"], "GCP_ENV_TYPE": "tower"})


def prepare(private_data_dir, extravars, k8s=None, gce=None, extra_playbooks=None):
    """Write the private data directory; returns it."""
    for sub in ("env", "inventory"):
        os.makedirs(os.path.join(private_data_dir, sub), exist_ok=True)
    # The project checkout (AWX syncs the SCM project into project/) and the collection, as AWX
    # installs a project's collections into requirements_collections/.
    shutil.copytree(os.path.join(REPO, "playbooks"), os.path.join(private_data_dir, "project"))
    for name, path in (extra_playbooks or {}).items():
        shutil.copy(path, os.path.join(private_data_dir, "project", name))
    collections = os.path.join(private_data_dir, "requirements_collections")
    os.makedirs(os.path.join(collections, "ansible_collections", "statefuldb"))
    os.symlink(REPO, os.path.join(collections, "ansible_collections", "statefuldb", "k8s"))
    # AWX writes the inventory as an executable script that prints the JSON inventory.
    inventory = {"all": {"hosts": ["localhost"]},
                 "_meta": {"hostvars": {"localhost": {"ansible_connection": "local",
                                                      "ansible_python_interpreter": sys.executable}}}}
    script = os.path.join(private_data_dir, "inventory", "hosts")
    with open(script, "w") as stream:
        stream.write("#!/bin/sh\ncat <<'EOF'\n%s\nEOF\n" % json.dumps(inventory))
    os.chmod(script, 0o700)

    env = {"ANSIBLE_COLLECTIONS_PATH": collections, "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_FORCE_COLOR": "False",
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    if k8s:
        inject_kubernetes_bearer_token(k8s["inputs"], env, private_data_dir)
    if gce:
        inject_gce(gce["inputs"], env, private_data_dir, gce["token_uri"])
    with open(os.path.join(private_data_dir, "env", "envvars"), "w") as stream:
        json.dump(env, stream)
    with open(os.path.join(private_data_dir, "env", "extravars"), "w") as stream:
        json.dump(extravars, stream)
    return private_data_dir


def run(private_data_dir, playbook):
    return ansible_runner.run(private_data_dir=private_data_dir, playbook=playbook, ident="job",
                              quiet=True, rotate_artifacts=1)


def task_results(runner):
    """{task name: [result event names]} for every task the job started, in order."""
    started, results = [], {}
    for event in runner.events:
        data = event.get("event_data", {})
        if event["event"] == "playbook_on_task_start":
            started.append(data["task"])
            results.setdefault(data["task"], [])
        elif event["event"].startswith("runner_on_") and data.get("task") is not None:
            results.setdefault(data["task"], []).append(event["event"])
    return started, results


def files_containing(directory, fragments, skip=()):
    """Every file under directory that contains one of the fragments."""
    found = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            if os.path.relpath(path, directory) in skip:
                continue
            with open(path, "rb") as stream:
                data = stream.read()
            found.extend("%s: %s..." % (os.path.relpath(path, directory), fragment[:6])
                         for fragment in fragments if fragment.encode() in data)
    return found


def secret_fragments(text):
    """Pieces of a secret to look for: the whole value, and for a PEM key a line of its body
    (JSON-escaped output would not contain the whole multi-line value)."""
    lines = [line for line in text.splitlines() if line and not line.startswith("-----")]
    if len(lines) > 2:
        return [lines[len(lines) // 2]]
    return [text, base64.b64encode(text.encode()).decode()]
