# One image for every Procfile process (release, web, internal, worker, beat).
# Production packages only: requirements/base.txt, exact versions with hashes (no pytest,
# playwright or schemathesis). The code is owned by root and read-only for the runtime user.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=halobestie.settings.production \
    PORT=8000 \
    INTERNAL_PORT=8001

WORKDIR /app
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app

# Dependencies first: this layer is rebuilt only when the lock changes.
COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/base.txt

COPY . .
# collectstatic needs settings but no services: the base settings with a throwaway key.
# Bytecode is compiled now, as root: the runtime user never writes into /app.
RUN DJANGO_SETTINGS_MODULE=halobestie.settings.base SECRET_KEY=collectstatic-only \
       python manage.py collectstatic --noinput \
    && python -m compileall -q /app

USER 10001:10001
EXPOSE 8000 8001
# Knows which process it guards (web, internal, worker or beat): halobestie/healthcheck.py.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["python", "-m", "halobestie.healthcheck"]
# Default process: the public entrypoint. Others (see Procfile): `python -m halobestie.serve
# internal`, `celery -A halobestie worker`, `celery -A halobestie beat --schedule
# /tmp/celerybeat-schedule`, and `python manage.py migrate --noinput` as the release step.
CMD ["python", "-m", "halobestie.serve", "web"]
