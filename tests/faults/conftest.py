import pytest

from tests.support.system import RunningSystem


@pytest.fixture(scope="module")
def fault_system(request, tmp_path_factory, vhost_pipeline):
    """The whole system as `make run` starts it, retrying failed events every 200 ms."""
    from urllib.parse import urlparse

    uri = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    with vhost_pipeline.get() as vhost:
        running = RunningSystem(
            f"{uri.scheme}://{uri.netloc}/{vhost}",
            tmp_path_factory.mktemp("var"),
            extra_env={"CRM_EVENT_RETRY_DELAY_MS": "200", "CRM_EVENT_MAX_ATTEMPTS": "3"},
        )
        running.vhost = vhost
        running.var_dir = running.log_path.parent
        running.start()
        yield running
        running.stop()
