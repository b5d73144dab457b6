# hookscope: a static binary on distroless. The frontend's built assets are
# committed (go:embed), so the build needs Go only.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/hookscope ./cmd/hookscope \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hookscope /hookscope
# The data dir holds the spool (and the embedded store when no ClickHouse URL
# is set); it is owned by the image's nonroot user so a fresh volume is too.
COPY --from=build --chown=65532:65532 /out/data /data
ENV HOOKSCOPE_ADDR=:8080 \
    HOOKSCOPE_DATA_DIR=/data
EXPOSE 8080
VOLUME /data
USER nonroot:nonroot
ENTRYPOINT ["/hookscope"]
