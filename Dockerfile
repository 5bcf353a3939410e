# The AllMySMS component's image for elastic.io (buildType: docker): the platform starts the
# sailor for each flow step, and `python -m smsgate.elasticio.service verifyCredentials` to check
# credentials; both read ELASTICIO_* variables the platform sets.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ELASTICIO_COMPONENT_PATH=/app

WORKDIR /app
COPY pyproject.toml README.md component.json ./
COPY src ./src
RUN pip install --no-cache-dir . && useradd --system --uid 1000 sailor
USER sailor

CMD ["python", "-m", "smsgate.elasticio.run"]
