import pytest

from helpers import make_blobs_data


@pytest.fixture
def blobs():
    return make_blobs_data()
