# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception the MySQL helpers raise for anything a user can act on."""
from __future__ import annotations


class MySQLReplicationError(Exception):
    """A refusal or failure with a message that says what is wrong and what to do.

    ``details`` ends up in the module result next to ``msg`` (never secrets).
    """

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details
