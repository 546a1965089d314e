import pytest

from helpers import make_blobs_data


@pytest.fixture
def blobs():
    return make_blobs_data()


@pytest.fixture(scope="module")
def client():
    """A real Dask cluster: two worker processes with one thread each."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        yield client
