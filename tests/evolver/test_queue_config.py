"""The Celery configuration evolver hands the workers: the settings that lose nothing (reliability.md)."""

import pytest
from pydantic import ValidationError

from evolver.queue import SWEEP, QueueError, TaskQueue, celery_config
from evolver.settings import Settings


def test_the_configuration_acks_late_speaks_json_and_redelivers_after_the_hard_limit():
    settings = Settings(broker_url="redis://127.0.0.1:1/0", task_time_limit=100, visibility_timeout=200,
                        broker_transport_options={"unacked_restore_interval": 1})  # fmt: skip
    config = celery_config(settings)
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["task_serializer"] == config["result_serializer"] == "json"
    assert config["accept_content"] == config["result_accept_content"] == ["json"]
    assert config["task_time_limit"] == 100 and config["task_soft_time_limit"] < 100
    for options in (config["broker_transport_options"], config["result_backend_transport_options"]):
        assert options["visibility_timeout"] == 200 and options["unacked_restore_interval"] == 1
    assert config["visibility_timeout"] == 200
    assert config["worker_max_tasks_per_child"] > 0 and config["worker_max_memory_per_child"] > 0
    assert config["result_backend"] == settings.broker_url
    assert config["beat_schedule"]["sweep"]["task"] == SWEEP


def test_a_visibility_timeout_inside_the_hard_limit_is_refused():
    with pytest.raises(ValidationError, match=r"EVOLVER_VISIBILITY_TIMEOUT .* must exceed EVOLVER_TASK_TIME_LIMIT"):
        Settings(task_time_limit=600, visibility_timeout=600)


def test_no_broker_says_what_to_set():
    with pytest.raises(QueueError, match="set EVOLVER_BROKER_URL"):
        TaskQueue(Settings(broker_url=None))
