# Steward: multi-stage build, non-root distroless runtime.
# Build: docker build -t steward .   (docker compose does this for you)

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so code changes do not refetch them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Generated templ code is committed; the build does not need the templ tool.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/server ./cmd/server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/server /usr/local/bin/server
USER nonroot:nonroot
# Steward serves loopback only until sign-in exists (it refuses 0.0.0.0), and a
# published port cannot reach a container's loopback: run the image with the
# host's network (`docker run --network host`, as docker-compose.yml does), and
# its 127.0.0.1:8080 is the host's.
ENV STEWARD_ADDR=127.0.0.1:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/server"]
CMD ["serve"]
