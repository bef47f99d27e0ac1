# The simulated modem WITH the relay: the simulator makes a pty, links it at
# /tmp/ttyUSB2 and then runs the relay as its child on that device. A pty made
# in one container cannot be opened from another one, so the relay that talks
# to the simulator lives in the simulator's container; to the rest of the
# stack this container is the `relay` service (deploy/compose.sim.yaml).
# Built by `make images` from prebuilt binaries (no registry, no RUN step).
FROM scratch
# Both binaries carry the time zone database (-tags timetzdata; the relay also
# imports time/tzdata), so TZ works without /usr/share/zoneinfo.
COPY simulator /simulator
COPY relay /relay
# /tmp for the pty's link, writable by the nonroot user.
COPY --chown=65532:65532 empty/ /tmp/
USER 65532:65532
EXPOSE 8080 9101 8091
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/relay", "healthcheck"]
# The relay reads RELAY_* from the environment (inherited); its device is the
# pty's link, given as a flag so that RELAY_DEVICE cannot point elsewhere.
ENTRYPOINT ["/simulator", "--link", "/tmp/ttyUSB2", "--control", ":8091", "--", "/relay", "--device", "/tmp/ttyUSB2"]
