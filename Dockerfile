# One image for every Procfile process (web, internal, worker, beat).
FROM python:3.12-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=halobestie.settings.production \
    PORT=8000 \
    INTERNAL_PORT=8001

WORKDIR /app
RUN groupadd --system app && useradd --system --gid app --home /app app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=app:app . .
# collectstatic needs settings but no services: use the base settings with a throwaway key.
RUN DJANGO_SETTINGS_MODULE=halobestie.settings.base SECRET_KEY=collectstatic-only \
    python manage.py collectstatic --noinput

USER app
EXPOSE 8000 8001
# Default process: the public entrypoint. Override the command for internal/worker/beat
# (see Procfile), e.g. `celery -A halobestie worker`.
CMD ["python", "-m", "halobestie.serve", "web"]
