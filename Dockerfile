# One image for web, Celery worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    QUANYI_ENV=production DJANGO_SETTINGS_MODULE=platform.settings

# WeasyPrint's system libraries and a CJK font for Chinese statements
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libfontconfig1 \
      fonts-noto-cjk curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY . .
# static files are collected at build time with throwaway secrets; real ones come from the environment
RUN SECRET_KEY=build PII_ENCRYPTION_KEYS=YnVpbGQ= PII_DIGEST_KEY=build API_KEY_PEPPER=build \
    DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput \
 && useradd --system --uid 10001 --home /app quanyi && chown -R quanyi /app/var

USER quanyi
EXPOSE 8000
HEALTHCHECK CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
# `python -m` keeps /app first on sys.path: the project's `platform` package must shadow the stdlib one
CMD ["python", "-m", "gunicorn", "platform.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", \
     "--access-logfile", "-"]
