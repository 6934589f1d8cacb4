# Prometheus from Debian's package, for docker-compose.yml (no registry image
# needed). Its config is this folder, mounted at /etc/prometheus/ringmaster;
# its data is the volume at /prometheus, which it owns.
#   docker build -t ringmaster-prometheus -f prometheus.Dockerfile [--build-arg BASE_IMAGE=...] .
ARG BASE_IMAGE=debian:bookworm
FROM ${BASE_IMAGE}
ARG DEBIAN_FRONTEND=noninteractive
LABEL org.ringmaster.image=prometheus
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus \
    && apt-get clean && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /prometheus && chown prometheus:prometheus /prometheus
USER prometheus
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/ringmaster/prometheus.yml", "--storage.tsdb.path=/prometheus"]
