# Production image: one image, any role (web by default; see deploy/compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBUG=false TOWN_VAR_DIR=/app/var
WORKDIR /app

COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock \
    && useradd --create-home --uid 10001 town

COPY --chown=town:town . .
# collectstatic needs settings but no database: give it a throwaway URL and key.
RUN DATABASE_URL=postgres://build@localhost/build SECRET_KEY=build-only \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var/media && chown -R town:town /app/var

USER town
EXPOSE 8000
CMD ["python", "manage.py", "runtown", "--role", "web", "--host", "0.0.0.0", "--port", "8000"]
