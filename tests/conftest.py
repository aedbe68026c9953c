import pytest

from tests.support.system import RunningSystem


@pytest.fixture(scope="module")
def system(request, tmp_path_factory, vhost_pipeline):
    """The whole system started as `make run` does, on a vhost of its own, for one test module."""
    from urllib.parse import urlparse

    uri = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    with vhost_pipeline.get() as vhost:
        running = RunningSystem(
            f"{uri.scheme}://{uri.netloc}/{vhost}", tmp_path_factory.mktemp("var")
        ).start()
        yield running
        running.stop()
