"""The broker on the embedded queue and on Redis: what a server sends, a worker takes and runs."""

from __future__ import annotations

from catalogue.settings import Settings
from jobs import broker as brokers


def test_a_job_a_server_sends_is_one_a_worker_knows(node: Settings) -> None:
    """The server's broker only sends; the worker's runs. Huey names a message after the function behind the task:
    were they different functions, the worker would drop the message and the job would wait for the reaper."""
    node.data_dir.mkdir(parents=True, exist_ok=True)
    ran: list[int] = []
    server = brokers.open_broker(node)
    worker = brokers.open_broker(node, run=ran.append)
    try:
        server.send([41, 42])
        for _ in range(2):
            task = worker.huey.dequeue()
            assert task is not None
            worker.huey.execute(task)
        assert ran == [41, 42]
        assert worker.huey.dequeue() is None
    finally:
        server.close()
        worker.close()
