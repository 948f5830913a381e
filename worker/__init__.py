"""The Celery application (worker/app.py) and its tasks (worker/tasks.py): thin calls into evolver.

Start a worker with `celery -A worker.app worker`, and one `celery -A worker.app beat` for the sweeper.
"""
