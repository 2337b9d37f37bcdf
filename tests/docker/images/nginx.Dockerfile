# CI-only stand-in for the official nginx image (no registry is reachable in CI): Debian's
# nginx-light from the root file system build-rootfs.sh makes. Honours what
# docker/docker-compose.replicas.yml uses of the official image: /etc/nginx/conf.d/*.conf
# included in `http { }`, no server of its own, curl for the health check, foreground.
ARG BASE=uc-e2e-debian:bookworm
FROM ${BASE}
RUN rm -f /etc/nginx/sites-enabled/default
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
