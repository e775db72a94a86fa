# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Constants and small helpers shared by the Cloud SQL integration tests (unique module name so
it never collides with another folder's conftest)."""

PROJECT = "statefuldb-test"


def last_result(run):
    """The result of the play's last task (fails with the output when there is none)."""
    assert run.results, run.stdout + run.stderr
    return run.results[-1]


def results_changed(runs):
    return [last_result(r).get("changed") for r in runs]
