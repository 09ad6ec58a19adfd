# Earshot: one static binary on a small Debian base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/earshot ./cmd/earshot

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/earshot earshot \
 && mkdir -p /var/lib/earshot /etc/earshot \
 && chown earshot /var/lib/earshot
COPY --from=build /out/earshot /usr/local/bin/earshot
# The example config runs the bundled demo; mount your own over it.
COPY earshot.example.yaml /etc/earshot/earshot.yaml
WORKDIR /var/lib/earshot
USER earshot
ENV EARSHOT_LISTEN=0.0.0.0:8377
EXPOSE 8377
ENTRYPOINT ["earshot", "--config", "/etc/earshot/earshot.yaml"]
CMD ["run"]
