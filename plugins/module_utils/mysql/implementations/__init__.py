# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One table of SQL per flavor and version; see ../sql_tables.py for how one is chosen."""
