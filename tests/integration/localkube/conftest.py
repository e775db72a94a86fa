"""Fixtures for the acceptance tests of the local control plane (tools/localkube)."""
import pytest

from localkube_helpers import PodRecorder


@pytest.fixture
def recorder(core, namespace):
    rec = PodRecorder(core, namespace).start()
    yield rec
    rec.stop()
