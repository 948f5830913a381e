"""worker: the Celery application and its thin tasks (built in a later issue)."""
