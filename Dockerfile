# The service image, evolver:local: the worker by default; docker-compose.yml builds it once (its migrate service)
# and runs it as migrate, worker, beat, api and flower. The project is installed editable from the tree in /app
# (prompts and migrations ship inside the evolver package; alembic.ini is here for running Alembic by hand).
# No secrets are baked in: they come from the environment (an optional .env) at run time.
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

# The dependencies first, read from pyproject.toml alone: a change to the source keeps this layer, so a rebuild
# after an edit takes seconds, not the minutes of a full install.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['flower']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY README.md alembic.ini ./
COPY simcore ./simcore
COPY sandbox ./sandbox
COPY evolver ./evolver
COPY worker ./worker
RUN pip install -e ".[flower]"

# Root on purpose: the sandbox drops each evaluation to `nobody` and installs its seccomp filter, which needs it.
EXPOSE 8000 5555
CMD ["celery", "-A", "worker.app", "worker", "-P", "prefork", "--loglevel=INFO", "--without-gossip", "--without-mingle"]
