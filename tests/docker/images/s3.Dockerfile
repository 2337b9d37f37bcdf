# CI-only stand-in for the motoserver/moto image (no registry is reachable in CI): moto's
# server (moto[server] from PyPI, installed by tests/docker/e2e.sh into a venv on the host
# and copied here as its site-packages) on Debian 12's python3 from the root file system
# build-rootfs.sh makes. Honours what docker/docker-compose.replicas.yml uses of the
# official image: moto_server and python3 on PATH, /bin/sh.
ARG BASE=uc-e2e-debian:bookworm
FROM ${BASE}
COPY site-packages /opt/moto
COPY moto_server /usr/local/bin/moto_server
ENV PYTHONPATH=/opt/moto
EXPOSE 5000
ENTRYPOINT ["/usr/local/bin/moto_server", "-H", "0.0.0.0"]
