# PostgreSQL with no container registry: Debian's postgresql package, its
# programs and the C libraries they link, FROM scratch. scripts/postgres-image
# stages the build context (root/ is the image's file tree, copied from this
# machine) and builds this; COPY only, no RUN. For the cluster's compose file
# (compose.cluster.yaml's POSTGRES_IMAGE) where postgres:15-bookworm cannot
# be pulled, e.g. in CI; with internet the official image is the default.
#
# Compatible with the official image where the compose file relies on it:
# the same variables (POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB,
# POSTGRES_INITDB_ARGS, PGDATA; deploy/docker/postgres-entrypoint), the same
# data directory and volume, the same user id (999), the same stop signal,
# and, for Debian 12's PostgreSQL 15 with the locale C the compose file asks
# both for, the same data format: a volume can move from one to the other.
FROM scratch
ARG PG_MAJOR=15
# /bin/sh (dash) for the entrypoint, PostgreSQL's programs in
# /usr/lib/postgresql/$PG_MAJOR/bin, its share files, the libraries, and
# the time zone database, /etc/passwd and /etc/group naming user 999
# postgres (initdb looks its user up).
COPY root/ /
# The data directory (initdb makes it 0700) and the socket's directory,
# owned by the user that runs postgres.
COPY --chown=999:999 empty/ /var/lib/postgresql/data/
COPY --chown=999:999 empty/ /var/run/postgresql/
ENV PATH=/usr/lib/postgresql/$PG_MAJOR/bin:/bin \
    PGDATA=/var/lib/postgresql/data \
    LANG=C
VOLUME ["/var/lib/postgresql/data"]
USER 999:999
EXPOSE 5432
# SIGTERM would be a smart shutdown, which waits for every client (the
# apis) to disconnect; SIGINT is the fast one.
STOPSIGNAL SIGINT
ENTRYPOINT ["/bin/sh", "/usr/local/bin/postgres-entrypoint"]
CMD ["postgres"]
