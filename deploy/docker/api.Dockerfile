# The api image: one static binary and its data directory. Built by
# `make images` from prebuilt binaries (no registry, no RUN step).
FROM scratch
# No time zone database (without -tags timetzdata: the size budget of
# scripts/images): TZ reads /usr/share/zoneinfo, which compose.yaml mounts
# from the host; without it the api logs in UTC.
COPY api /api
# The data directory, owned by the nonroot user; an empty named volume
# mounted here starts as a copy of it (and so with this owner).
COPY --chown=65532:65532 empty/ /data/
ENV API_DATA_DIR=/data
VOLUME ["/data"]
USER 65532:65532
EXPOSE 8090
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/api", "healthcheck"]
ENTRYPOINT ["/api"]
