# One image for web, worker and beat.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 NPL_VAR_DIR=/app/var
WORKDIR /app
COPY requirements.txt .
# python-ldap (directory login) builds against OpenLDAP's client library; the compiler goes after.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libldap2-dev libsasl2-dev \
    && pip install --no-cache-dir -r requirements.txt \
    && apt-get purge -y gcc && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
COPY . .
RUN DEBUG=0 SECRET_KEY=collectstatic-only-not-a-real-secret-key-0000 ALLOWED_HOSTS=build python manage.py collectstatic --noinput && useradd --system npl && mkdir -p var && chown -R npl var
USER npl
EXPOSE 8000
CMD ["gunicorn", "--config", "gunicorn.conf.py", "npl_recovery.wsgi:application"]
