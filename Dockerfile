# Our schema registry as a container; see docker-compose.yml for the whole mesh.
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY streams ./streams
RUN pip install --no-cache-dir . && useradd --system --no-create-home mesh
USER mesh
EXPOSE 8081
CMD ["mesh", "registry", "serve", "--host", "0.0.0.0", "--port", "8081", "--bootstrap-servers", "kafka:9092"]
