from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.databases import fresh_database
from support.server import RunningServer, start_server

BATTERY_CONFIG = """
[server]
max_body_bytes = 262144

[sources.demo]
scheme = "none"
id_header = "X-Event-Id"

[sources.internal]
scheme = "none"
id_field = "data.id"
type_field = "event"

[sources.signed]
scheme = "standard-webhooks"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
"""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def battery_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    workdir: Path = tmp_path_factory.mktemp("server")
    database = fresh_database(request, workdir)
    server = start_server(workdir, config=BATTERY_CONFIG, database=database)
    yield server
    server.stop()
