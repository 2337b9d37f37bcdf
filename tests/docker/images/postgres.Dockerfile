# CI-only stand-in for the official postgres image (no registry is reachable in CI): Debian's
# PostgreSQL 15 on the root file system build-rootfs.sh makes, honouring what the compose
# files use of the official image: POSTGRES_USER, POSTGRES_DB, PGDATA, pg_isready on PATH,
# listening on every address. Authentication is trust (POSTGRES_PASSWORD is ignored).
ARG BASE=uc-e2e-debian:bookworm
FROM ${BASE}
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data
USER postgres
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
