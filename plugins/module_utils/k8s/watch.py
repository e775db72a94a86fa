# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep one list+watch of a Kubernetes query running in a thread and put what it sees on a queue.

A dropped stream (server restart, connection reset, protocol error) is resumed from the last
resourceVersion under the client's retry policy; 410 Gone (that version is too old) lists again.
"""
from __future__ import annotations

import threading
import time

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.errors import K8sApiError, K8sError, K8sUnreachableError


class Watch(threading.Thread):
    """List then watch one query; puts ("sync", kind, items) / ("event", kind, type, obj) / ("error", kind, exc)."""

    def __init__(self, client, api_version, kind, namespace, events, stop, deadline, label_selector=None,
                 field_selector=None):
        super().__init__(daemon=True)
        self.client, self.api_version, self.kind, self.namespace = client, api_version, kind, namespace
        self.events, self.stop, self.deadline = events, stop, deadline
        self.label_selector, self.field_selector = label_selector, field_selector
        self.reconnects = 0
        self.relists = 0

    def run(self):
        try:
            self._run()
        except K8sError as exc:
            self.events.put(("error", self.kind, exc))
        except Exception as exc:  # a bug must not hang the wait until the deadline
            self.events.put(("error", self.kind, K8sError("watching %s failed: %r" % (self.kind, exc))))

    def _list(self):
        """List the query (the client retries transient failures), hand over the items, return the resourceVersion."""
        listing = self.client.list(self.api_version, self.kind, self.namespace,
                                   label_selector=self.label_selector, field_selector=self.field_selector)
        self.events.put(("sync", self.kind, listing.get("items") or []))
        return (listing.get("metadata") or {}).get("resourceVersion")

    def _relist(self):
        """Start over from a fresh list: the server no longer keeps the version we would resume from."""
        self.relists += 1
        return self._list()

    def _run(self):
        resource_version = self._list()
        attempt = 0
        while not self.stop.is_set():
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                stream = self.client.watch(self.api_version, self.kind, self.namespace,
                                           resource_version=resource_version,
                                           label_selector=self.label_selector,
                                           field_selector=self.field_selector,
                                           timeout_seconds=min(remaining + 1, 290),
                                           deadline=self.client.policy.clock() + remaining)
                for event in stream:
                    attempt = 0
                    obj = event.get("object") or {}
                    resource_version = (obj.get("metadata") or {}).get("resourceVersion") or resource_version
                    if event.get("type") != "BOOKMARK":
                        self.events.put(("event", self.kind, event.get("type"), obj))
                    if self.stop.is_set():
                        return
            except K8sApiError as exc:
                if exc.status == 410:  # too old
                    resource_version = self._relist()
                    continue
                raise
            except Exception as exc:
                # A dropped stream (K8sUnreachableError, OSError, a torn JSON line, urllib3 protocol
                # errors raised while streaming): resume from where we were.
                attempt += 1
                self._wait_before_resuming(attempt, exc)
            # Stream ended cleanly (server-side timeout): resume from the last resourceVersion.

    def _wait_before_resuming(self, attempt, exc):
        """Back off under the client's retry policy, within what is left of the deadline; give up when it says so."""
        self.reconnects += 1
        budget_end = self.client.policy.clock() + max(0.0, self.deadline - time.monotonic())
        if not self.client.policy.wait(attempt, budget_end=budget_end):
            raise K8sUnreachableError("watch on %s could not be resumed: %s" % (self.kind, exc))
