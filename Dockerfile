# The service image: the worker by default; docker-compose.yml runs the same image as migrate, beat, api and flower.
# Installed editable from the source tree in /app, because the package finds migrations/ and prompts/ beside its
# packages (and alembic.ini is here). No secrets are baked in: they come from the environment (.env) at run time.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libseccomp for the sandbox's syscall filter (pyseccomp loads it at run time).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libseccomp2 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY simcore ./simcore
COPY sandbox ./sandbox
COPY evolver ./evolver
COPY worker ./worker
RUN pip install -e ".[flower]"

COPY prompts ./prompts
COPY migrations ./migrations

# Root on purpose: the sandbox drops each evaluation to `nobody` and installs its seccomp filter, which needs it.
EXPOSE 8000 5555
CMD ["celery", "-A", "worker.app", "worker", "-P", "prefork", "--loglevel=INFO", "--without-gossip", "--without-mingle"]
