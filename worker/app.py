"""The Celery application, configured from the environment (EVOLVER_BROKER_URL and the queue settings)."""

from celery import Celery

from evolver.queue import celery_config
from evolver.settings import Settings

app = Celery("evolver", include=["worker.tasks"])
app.conf.update(celery_config(Settings()))
