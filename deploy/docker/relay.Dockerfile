# The relay image: one static binary, nothing else. Built by `make images`
# (scripts/images) from binaries the build itself produced, so it needs no
# container registry: FROM scratch + COPY, no RUN step, any --platform.
# The build context is dist/images/<platform>/ as scripts/images stages it.
# (With internet, deploy/docker/Dockerfile builds the same from source.)
FROM scratch
COPY relay /relay
# nonroot; compose adds the modem's group (dialout, MODEM_GID) so that the
# device can be opened without root.
USER 65532:65532
EXPOSE 8080 9101
# /relay healthcheck GETs /healthz on RELAY_METRICS_LISTEN: no shell needed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/relay", "healthcheck"]
ENTRYPOINT ["/relay"]
