# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-modify-write of settings.ipConfiguration with settingsVersion, retried on conflicts."""

from __future__ import annotations

import copy

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.api import (
    CloudSqlError,
    OperationInProgressError,
    StaleSettingsError,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.networks import (
    comparable,
    for_display,
    merge_networks,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.common.times import utcnow
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.ssl import (
    effective_ssl_mode,
    ssl_downgrade,
    ssl_fields,
    ssl_needs_change,
)


class SslDowngradeError(CloudSqlError):
    """The task asks for a weaker SSL mode than the instance enforces, without allowing it."""


def plan_ip_configuration(ip_configuration, desired_networks, state="present", exclusive=False,
                          ssl_mode=None, ipv4_enabled=None, now=None, allow_ssl_downgrade=False,
                          managed_prefix=None):
    """Return the new ipConfiguration, or None when the instance already matches the task.

    Raises SslDowngradeError (before anything is written) when ssl_mode would weaken the
    instance's mode and allow_ssl_downgrade is false.
    """
    ip_configuration = copy.deepcopy(ip_configuration or {})
    changed = False
    current = ip_configuration.get("authorizedNetworks") or []
    if desired_networks is not None:
        merged = merge_networks(current, desired_networks, state=state, exclusive=exclusive, now=now,
                                managed_prefix=managed_prefix)
        if comparable(merged) != comparable(current):
            ip_configuration["authorizedNetworks"] = merged
            changed = True
    weaker_than = ssl_downgrade(ip_configuration, ssl_mode) if ssl_mode else None
    if weaker_than and not allow_ssl_downgrade:
        raise SslDowngradeError(
            "ssl_mode=%s would weaken the instance's SSL mode, which is %s; nothing was changed. "
            "Leave ssl_mode unset to keep the instance's mode, or set allow_ssl_downgrade=true "
            "to weaken it on purpose." % (ssl_mode, weaker_than))
    if ssl_mode and ssl_needs_change(ip_configuration, ssl_mode):
        ip_configuration.update(ssl_fields(ssl_mode))
        changed = True
    if ipv4_enabled is not None and bool(ip_configuration.get("ipv4Enabled")) != ipv4_enabled:
        ip_configuration["ipv4Enabled"] = ipv4_enabled
        changed = True
    return ip_configuration if changed else None


def access_summary(ip_configuration):
    ip_configuration = ip_configuration or {}
    return {
        "authorized_networks": for_display(ip_configuration.get("authorizedNetworks")),
        "ssl_mode": effective_ssl_mode(ip_configuration),
        "ipv4_enabled": bool(ip_configuration.get("ipv4Enabled")),
    }


def ensure_access(client, desired_networks, state="present", exclusive=False, ssl_mode=None,
                  ipv4_enabled=None, check_mode=False, allow_ssl_downgrade=False, managed_prefix=None):
    """Make the instance's ipConfiguration match the task; returns the module result."""
    attempts = 0
    first_read = None
    maybe_applied = False  # a PATCH of ours lost its answer, then met 409/412: it may have been applied
    while True:
        instance = client.get_instance()
        settings = instance.get("settings") or {}
        before_conf = settings.get("ipConfiguration") or {}
        new_conf = plan_ip_configuration(before_conf, desired_networks, state, exclusive, ssl_mode,
                                         ipv4_enabled, now=utcnow(), allow_ssl_downgrade=allow_ssl_downgrade,
                                         managed_prefix=managed_prefix)
        before = access_summary(before_conf)
        first_read = first_read or before
        if new_conf is None:
            # Nothing left to do. If our own earlier PATCH did it (its answer was lost), the task
            # changed the instance: report it against what we read first.
            changed = maybe_applied and first_read != before
            return dict(changed=changed, attempts=attempts,
                        diff=dict(before=first_read if changed else before, after=before),
                        settings_version=settings.get("settingsVersion"), **before)
        if check_mode:
            after = access_summary(new_conf)
            return dict(changed=True, attempts=attempts, diff=dict(before=before, after=after),
                        settings_version=settings.get("settingsVersion"), **after)
        # Only ipConfiguration is sent; settingsVersion makes the API refuse (412) a write
        # based on settings someone else changed since our read.
        body = {"settings": {"settingsVersion": settings.get("settingsVersion"),
                             "ipConfiguration": new_conf}}
        attempts += 1
        unanswered = client.unanswered_writes
        try:
            operation = client.patch_instance(body)
        except (StaleSettingsError, OperationInProgressError):
            maybe_applied = maybe_applied or client.unanswered_writes > unanswered
            # Someone else wrote in between: read again and re-plan, within the task's deadline.
            if not client.policy.wait(attempts, until_deadline=True):
                raise
            continue
        operation = client.wait_operation(operation)
        final = client.get_instance()
        final_settings = final.get("settings") or {}
        after = access_summary(final_settings.get("ipConfiguration"))
        return dict(changed=True, attempts=attempts, diff=dict(before=before, after=after),
                    settings_version=final_settings.get("settingsVersion"),
                    operation={k: operation.get(k)
                               for k in ("name", "operationType", "status", "targetLink")},
                    **after)
