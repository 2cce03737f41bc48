FROM python:3.13-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIM_VAR_DIR=/var/lib/pim
WORKDIR /app
RUN useradd --system --home /app pim && mkdir -p /var/lib/pim && chown pim /var/lib/pim
COPY pyproject.toml README.md ./
RUN pip install .
COPY . .
RUN python bin/compilemessages.py && \
    SECRET_KEY=build DEBUG=false python manage.py collectstatic --noinput && \
    chown -R pim /var/lib/pim
USER pim
EXPOSE 8000
CMD ["gunicorn", "pim.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
