# syntax=docker/dockerfile:1
# statusd in one image: built with cgo (go-sqlite3), run as a non-root user.
#   docker build --build-arg VERSION=$(git describe --tags --always) -t statusd .
#   docker run -p 8080:8080 -v statusd-data:/var/lib/statusd statusd

FROM golang:1.26-bookworm AS build
ARG VERSION=dev
ENV CGO_ENABLED=1 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
WORKDIR /src
# gcc and libc6-dev come with the golang image; modules get their own cached layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/statusd ./cmd/statusd

FROM debian:bookworm-slim
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates tzdata \
	&& rm -rf /var/lib/apt/lists/* \
	&& groupadd --system --gid 10001 statusd \
	&& useradd --system --uid 10001 --gid statusd --home-dir /var/lib/statusd --no-create-home --shell /usr/sbin/nologin statusd \
	&& install -d -o statusd -g statusd -m 0750 /var/lib/statusd
COPY --from=build /out/statusd /usr/local/bin/statusd
COPY config.example.yaml /etc/statusd/config.yaml
ENV STATUSD_DB=/var/lib/statusd/statusd.db \
	STATUSD_LISTEN=:8080
VOLUME ["/var/lib/statusd"]
WORKDIR /var/lib/statusd
USER statusd:statusd
EXPOSE 8080
# slim has no curl: the binary checks itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
	CMD ["statusd", "healthcheck", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["statusd"]
CMD ["serve", "--config", "/etc/statusd/config.yaml"]
